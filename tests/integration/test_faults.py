"""Each fault directive under load ends with every request accounted for and every answer right,
on a secured cluster (SASL identities, ACLs, signed records), as every run is by default."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from rich.console import Console

from loadtests.engine.run import execute
from loadtests.report import FaultRecord, RunReport
from services.config.settings import Settings, load_settings
from services.kafka.bus import KafkaTransport
from services.kafka.transport import Record
from services.wire.codec import Catalogue, Codec
from services.wire.topics import reply_topic
from tests.support.libraries import design_on, each_library
from tests.support.secured import SecuredCluster as Secured
from tests.support.secured import SecuredStack

REPO = Path(__file__).resolve().parents[2]
BASE = f"""
name: fault
topology: {REPO}/loadtests/topologies/demo.yaml
agencies: [province.001, province.079, ministry.vss, ministry.tax, ministry.justice]
timeout_s: 2
retries: 6
retry_budget: 5
registry_instances: {{instances}}
periods:
  - {{{{name: load, duration_s: 15, rate_per_s: 80, online_share: 0.4}}}}
mix: {{{{verify: 0.7, lookup: 0.15, dossier: 0.1, death: 0.05}}}}
errors: {{{{wrong_name: 0.05, unknown_id: 0.03, invalid_id: 0.02}}}}
faults:
{{faults}}
"""


@pytest.fixture
def secured(secured_demo: Secured) -> Secured:
    """The session's secured cluster: faults that leave the broker up need none of their own."""
    return secured_demo


async def play(
    tmp_path: Path,
    faults: str,
    secured: Secured | None,
    instances: int = 1,
    library: str | None = None,
) -> RunReport:
    """Play on the shared secured cluster, or (None) on one the run's design starts itself;
    with every client on `library` when given."""
    scenario = tmp_path / "fault.yaml"
    scenario.write_text(BASE.format(instances=instances, faults=faults), encoding="utf-8")
    if secured is None:
        settings = load_settings(KAFKA_BOOTSTRAP_SERVERS=None)
    else:  # the services the run starts read the same file from the environment
        with pytest.MonkeyPatch.context() as env:
            env.setenv("NDX_CREDENTIALS", str(secured.credentials))
            settings = load_settings(KAFKA_BOOTSTRAP_SERVERS=secured.stack.bootstrap)
            return await _checked(scenario, tmp_path, settings, faults, library)
    return await _checked(scenario, tmp_path, settings, faults, library)


async def _checked(
    scenario: Path, tmp_path: Path, settings: Settings, faults: str, library: str | None
) -> RunReport:
    design = None if library is None else design_on(library, tmp_path)
    report = await execute(
        scenario, tmp_path / "runs", settings, Console(quiet=True), False, design
    )
    phase = report.phases[0]
    assert phase.sent > 1000  # 15 s at 80/s
    assert (phase.lost, phase.incorrect, phase.timed_out) == (0, 0, 0), phase
    assert len(report.faults) == faults.count("action:")
    return report


@each_library
async def test_killing_one_of_two_registries_mid_run_loses_nothing(
    secured: Secured, tmp_path: Path, library: str
) -> None:
    report = await play(
        tmp_path,
        "  - {action: kill_registry, at_s: 6, instance: 2, down_s: 2}",
        secured,
        instances=2,
        library=library,
    )
    assert report.faults[0].instance == "registry-2"
    assert report.phases[0].retries > 0  # requests on the dead member's partitions waited


# Two agencies misbehave in one run, each its own way and neither touching what the other's
# test checks: ministry.vss stops reading for 6 s, province.001 tries what it may not.
SLOW = "  - {action: slow_agency, agency: ministry.vss, at_s: 5, for_s: 6}"
ROGUE = "  - {action: rogue_agency, at_s: 6, agency: province.001, victim: province.079}"


@pytest.fixture(scope="module")
async def misbehaving(secured_demo: Secured, tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    """The run of the slow ministry and the rogue province, whose tests each read their own."""
    return await play(tmp_path_factory.mktemp("misbehaving"), f"{SLOW}\n{ROGUE}", secured_demo)


def fault(report: RunReport, action: str) -> FaultRecord:
    return next(f for f in report.faults if f.action == action)


async def test_a_slow_ministry_catches_up_and_its_late_answers_are_counted_not_applied(
    misbehaving: RunReport,
) -> None:
    report = misbehaving
    assert fault(report, "slow_agency").agency == "ministry.vss"
    phase = report.phases[0]
    assert phase.retries > 0
    assert phase.late_answers > 0  # the first copies arrived once it read again
    assert phase.change_deliveries > 0


@each_library
async def test_a_poison_flood_is_dead_lettered_while_traffic_is_answered(
    secured: Secured, tmp_path: Path, library: str
) -> None:
    poison = "  - {action: poison, at_s: 5, count: 500}"
    report = await play(tmp_path, poison, secured, library=library)
    assert report.phases[0].dead_letters_measured == 500


async def test_rolling_the_registry_to_v1_answers_and_back_to_v2_loses_nothing(
    secured: Secured, tmp_path: Path
) -> None:
    faults = (
        "  - {action: schema_roll, at_s: 4, writer_version: 1}\n"
        "  - {action: schema_roll, at_s: 10, writer_version: 2}"
    )
    report = await play(tmp_path, faults, secured, instances=2)
    assert [f.writer_version for f in report.faults] == [1, 2]
    codec = Codec(Catalogue())
    replies = await read_replies(secured.stack, "province.001")
    versions = {codec.writer_of(r.value or b"").version for r in replies}
    assert versions >= {1, 2}


async def test_a_rogue_agency_is_denied_everything_it_tries_and_nothing_legitimate_is_lost(
    misbehaving: RunReport,
) -> None:
    rogue = fault(misbehaving, "rogue_agency")  # nothing lost: checked with every run's figures
    assert rogue.attempts is not None
    outcome = {a.action: a.denied for a in rogue.attempts}
    assert outcome == {
        "read_replies": True,
        "write_changes": True,
        "create_topic": True,
        "impersonate": True,
    }, rogue.attempts
    broker = {"read_replies", "write_changes", "create_topic"}
    assert all("denied by the broker" in a.result for a in rogue.attempts if a.action in broker)
    counted = REGISTRY.get_sample_value(
        "ndx_denied_total", {"agency": "province.001", "action": "write_changes"}
    )
    assert counted is not None and counted >= 1  # the driver's /metrics counts the broker's no


# Under load each kind of warning shows once per 30 s (services.process.lograte): a registry or
# monitor writes a few dozen lines over a broker restart, where it used to write thousands.
OUTAGE_LOG_LINES = 60
RESTART = "  - {action: restart_broker, at_s: 6, down_s: 4}"


@pytest.fixture(scope="module", autouse=True)
def broker_restart(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Future[RunReport] | None]:
    """The run whose broker restarts needs a cluster of its own: when its test is selected it
    starts with the module, on a thread and event loop of its own, and plays while the other
    faults play on the session's cluster; its test, the module's last, reads its report."""
    wanted = test_restarting_the_broker_mid_run_loses_nothing_and_readiness_follows_it.__name__
    if not any(i.name == wanted for i in request.session.items if i.module is request.module):
        yield None
        return
    home = tmp_path_factory.mktemp("broker-restart")
    with ThreadPoolExecutor(1, thread_name_prefix="broker-restart") as pool:
        yield pool.submit(asyncio.run, play(home, RESTART, None))


async def test_restarting_the_broker_mid_run_loses_nothing_and_readiness_follows_it(
    broker_restart: Future[RunReport] | None,
) -> None:
    assert broker_restart is not None
    report = await asyncio.to_thread(broker_restart.result)
    assert report.phases[0].retries > 0
    outage = report.faults[0].outage
    assert outage is not None
    for name in ("registry-1", "monitor"):
        assert outage.not_ready_after_s[name] is not None, outage  # 0 while it was away
        assert outage.ready_again_s[name] is not None, outage  # 1 again once it is back
        assert outage.log_lines[name] <= OUTAGE_LOG_LINES, outage


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


async def read_replies(stack: SecuredStack, agency: str) -> list[Record]:
    """Everything on an agency's reply topic, read as that agency."""
    security = stack.provisioned.credentials.security_for(agency)
    transport = KafkaTransport(stack.bootstrap, security=security)
    consumer = transport.consumer([reply_topic(agency)], f"{agency}.check", from_beginning=True)
    await consumer.start()
    out: list[Record] = []
    try:
        while not await consumer.at_end():
            out += await consumer.getmany(timeout_ms=500, max_records=5000)
    finally:
        await consumer.stop()
    return out
