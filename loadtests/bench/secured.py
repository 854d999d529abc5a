"""The bench with security on: the same steps on a secured broker, and what security costs."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

from loadtests.bench.model import BenchResult
from loadtests.bench.stepscenario import TOPOLOGY
from loadtests.cluster.localbroker import LocalBroker
from loadtests.cluster.provision import provision
from loadtests.stack import stack_topics
from services.kafka import KafkaTransport
from services.security import ClientSecurity, write_credentials, write_private
from services.wire import TopicSpec
from services.world import load_topology

CREDENTIALS = "bench.credentials.yaml"
PERF_CONFIG = "perf-producer.properties"


def prepare(broker: LocalBroker, extra: list[TopicSpec]) -> Path:
    """Users, ACLs and topics made by the admin; the file every process of a step reads."""
    assert broker.admin is not None
    topology = load_topology(TOPOLOGY)
    made = provision(broker.bootstrap, broker.admin, topology)
    maker = KafkaTransport(broker.bootstrap, security=broker.admin)
    asyncio.run(
        maker.ensure_topics(
            [*stack_topics(topology.agencies(), bulk_by=topology.reconcilers()), *extra]
        )
    )
    return write_credentials(broker.data_dir / CREDENTIALS, made.credentials)


def perf_config(admin: ClientSecurity, directory: Path) -> Path:
    """Kafka's producer tool logs in as the admin through a private properties file."""
    password = admin.password.get_secret_value()
    module = "org.apache.kafka.common.security.scram.ScramLoginModule"
    text = (
        f"security.protocol={admin.protocol}\nsasl.mechanism={admin.mechanism}\n"
        f'sasl.jaas.config={module} required username="{admin.principal}" '
        f'password="{password}";\n'
    )
    return write_private(directory / PERF_CONFIG, text)


@contextlib.contextmanager
def credentials_in_env(path: Path | None) -> Iterator[None]:
    """The steps' services (and the driver's settings) read NDX_CREDENTIALS from here."""
    before = os.environ.get("NDX_CREDENTIALS")
    if path is not None:
        os.environ["NDX_CREDENTIALS"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("NDX_CREDENTIALS", None)
        else:
            os.environ["NDX_CREDENTIALS"] = before


def same_step(off: BenchResult, on: BenchResult) -> tuple[str, float | None, float | None]:
    """CPU ms per transaction at the highest rate both series sustained, else at the warm-up
    (the same offered rate in both): what one transaction costs with and without security."""

    def cpu(result: BenchResult, rate: float, passed: bool) -> float | None:
        for step in result.main.steps:
            if step.offered_tps == rate and step.cpu is not None and (step.passed or not passed):
                return step.cpu.total_ms
        return None

    both = {s.offered_tps for s in off.main.steps if s.passed} & {
        s.offered_tps for s in on.main.steps if s.passed
    }
    if both:
        rate = max(both)
        return f"at {rate:,.0f}/s sustained", cpu(off, rate, True), cpu(on, rate, True)
    if off.main.steps and on.main.steps:
        rate = off.main.steps[0].offered_tps
        return f"at the {rate:,.0f}/s warm-up", cpu(off, rate, False), cpu(on, rate, False)
    return "not measured", None, None


def print_cost(off: BenchResult, on: BenchResult, console: Console) -> None:
    """Side by side: throughput and CPU per transaction with security off and on."""
    table = Table(title="Cost of security (same steps, same machine)")
    for column in ("", "security off", "security on", "on / off"):
        table.add_column(column, justify="right")
    tps = (off.main.headline.max_sustained_tps, on.main.headline.max_sustained_tps)
    ratio_tps = f"{tps[1] / tps[0]:.2f}" if tps[0] else "-"
    table.add_row("max sustained verifications/s", f"{tps[0]:,.0f}", f"{tps[1]:,.0f}", ratio_tps)
    where, *cpu = same_step(off, on)
    shown = [f"{c:.3f}" if c is not None else "-" for c in cpu]
    ratio_cpu = f"{cpu[1] / cpu[0]:.2f}" if cpu[0] and cpu[1] else "-"
    table.add_row(f"CPU ms per transaction {where}", *shown, ratio_cpu)
    console.print(table)
