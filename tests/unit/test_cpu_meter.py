"""The CPU figures of a report are possible ones: no part's peak exceeds the machine's cores, a
process's CPU from before the meter saw it is not counted, and the warm-up makes no peak."""

from __future__ import annotations

from loadtests.measure.cpumeter import CpuMeter

BORN_LONG_AGO = 1_000.0
START = 10_000.0  # wall clock when the meter starts


class Machine:
    """Processes with CPU seconds that the test moves forward, on a clock it moves too."""

    def __init__(self) -> None:
        self.now = 0.0
        self.procs: dict[int, tuple[float, float]] = {}  # pid -> (born, cpu seconds)

    def wall(self) -> float:
        return START + self.now

    def times(self, pid: int) -> tuple[float, float] | None:
        return self.procs.get(pid)

    def run(self, seconds: float, cores: dict[int, float]) -> None:
        """`seconds` of wall time pass; each pid uses its share of cores, in 10 ms ticks."""
        self.now += seconds
        for pid, share in cores.items():
            born, cpu = self.procs[pid]
            ticks = round(seconds * share * 100)
            self.procs[pid] = (born, cpu + ticks / 100)


def meter(machine: Machine, brokers: list[int]) -> CpuMeter:
    return CpuMeter(
        lambda: {"broker": brokers},
        times=machine.times,
        clock=lambda: machine.now,
        wall_clock=machine.wall,
        cpus=2,
    )


def test_brokers_started_long_before_the_meter_do_not_count_their_start_up() -> None:
    machine = Machine()
    brokers = [1, 2, 3]
    for pid in brokers:
        machine.procs[pid] = (BORN_LONG_AGO, 45.0)  # a JVM's start-up, before the run
    cpu = meter(machine, brokers)
    machine.run(3.0, {})
    cpu.sample()  # the meter's first look: a baseline
    cpu.mark()
    for _ in range(10):
        machine.run(1.0, {1: 0.5, 2: 0.5, 3: 0.5})
        cpu.sample()
    cpu.mark()
    report = cpu.report(1_000)
    assert report is not None
    (broker,) = report.parts
    assert broker.cores == 1.5
    assert broker.peak_cores == 1.5


def test_a_mark_a_few_milliseconds_after_a_sample_makes_no_peak_of_a_clock_tick() -> None:
    machine = Machine()
    brokers = [1, 2, 3]
    for pid in brokers:
        machine.procs[pid] = (BORN_LONG_AGO, 0.0)
    cpu = meter(machine, brokers)
    cpu.sample()
    cpu.mark()
    for _ in range(5):
        machine.run(1.0, {1: 0.4, 2: 0.4, 3: 0.4})
        cpu.sample()
    machine.run(0.002, {})
    for pid in brokers:  # one tick each lands in those 2 ms: 0.03 s / 0.002 s = 15 cores
        born, spent = machine.procs[pid]
        machine.procs[pid] = (born, spent + 0.01)
    cpu.mark()
    report = cpu.report(1_000)
    assert report is not None
    assert report.parts[0].peak_cores <= report.cpus
    assert report.parts[0].peak_cores == 1.2


def test_a_broker_restarted_mid_run_counts_its_new_life_only_from_its_birth() -> None:
    machine = Machine()
    brokers = [1]
    machine.procs[1] = (BORN_LONG_AGO, 100.0)
    cpu = meter(machine, brokers)
    cpu.sample()
    cpu.mark()
    machine.run(1.0, {1: 0.5})
    cpu.sample()
    del machine.procs[1]
    machine.run(0.5, {})
    machine.procs[7] = (machine.wall(), 0.0)  # restarted: a new process
    brokers[:] = [7]
    machine.run(0.5, {7: 1.6})  # a JVM starting up is busy
    cpu.sample()
    machine.run(1.0, {7: 0.5})
    cpu.sample()
    cpu.mark()
    report = cpu.report(100)
    assert report is not None
    assert report.parts[0].cores == round((0.5 + 0.8 + 0.5) / 3.0, 3)
    assert report.parts[0].peak_cores == 0.8


def test_the_warm_up_makes_no_peak() -> None:
    machine = Machine()
    machine.procs[1] = (BORN_LONG_AGO, 0.0)
    cpu = meter(machine, [1])
    cpu.sample()
    for _ in range(5):  # the warm-up: a fresh broker compiles its hot paths
        machine.run(1.0, {1: 1.9})
        cpu.sample()
    cpu.mark()
    for _ in range(5):
        machine.run(1.0, {1: 0.3})
        cpu.sample()
    cpu.mark()
    report = cpu.report(100)
    assert report is not None
    assert report.parts[0].peak_cores == 0.3
