"""One run configuration reaches every side: a scenario's own seed, and registries that refuse
to answer a run whose population they do not share."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from loadtests.engine.run import execute
from loadtests.stack.serviceproc import tail
from services.config.settings import load_settings
from services.kafka.bus import KafkaTransport
from services.process.context import standalone_config
from services.registry.control import announce
from services.security.auditkey import audit_key
from services.wire.topics import CONTROL
from tests.support.processes import reaped, sample, service
from tests.support.waiting import wait_for_async

REPO = Path(__file__).resolve().parents[2]
SEEDED = f"""
name: seeded-34
topology: {REPO}/loadtests/topologies/vn-2025.yaml
seed: 4242
agencies: [province.001, province.046, province.079, ministry.vss, ministry.tax, ministry.justice]
periods:
  - {{name: p, duration_s: 12, rate_per_s: 80, online_share: 0.4}}
mix: {{verify: 0.65, lookup: 0.15, dossier: 0.1, death: 0.1}}
errors: {{wrong_name: 0.05, wrong_birth_date: 0.03, unknown_id: 0.03, invalid_id: 0.02}}
"""
STAND_ASIDE_S = 30.0


async def test_a_scenario_with_its_own_seed_on_34_provinces_is_answered_right_everywhere(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    scenario = tmp_path / "seeded.yaml"
    scenario.write_text(SEEDED, encoding="utf-8")
    settings = load_settings(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, NDX_SEED="6")
    report = await execute(scenario, tmp_path / "runs", settings, Console(quiet=True), live=False)
    phase = report.phases[0]
    assert report.seed == 4242 != settings.seed
    assert phase.sent > 900 and phase.flows["death"] > 50  # 12 s at 80/s, a tenth deaths
    assert (phase.lost, phase.incorrect, phase.timed_out) == (0, 0, 0), phase.incorrect_examples
    config = (tmp_path / "runs" / report.run_id / "run-config.json").read_text(encoding="utf-8")
    assert '"seed": 4242' in config and "vn-2025.yaml" in config
    assert audit_key(settings).decode(errors="replace") not in config


async def test_a_registry_started_by_hand_stands_aside_while_a_foreign_run_is_under_way(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = load_settings(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    transport = KafkaTransport(kafka_bootstrap)
    await transport.ensure_topics([CONTROL])
    mine = standalone_config(settings, audit_key(settings))
    foreign = mine.model_copy(update={"run_id": "someone-else", "seed": mine.seed + 1})
    assert foreign.fingerprint != mine.fingerprint
    await announce(transport, foreign, "running")
    registry = service("registry", "registry-by-hand", kafka_bootstrap, tmp_path)
    async with reaped(registry):
        await asyncio.to_thread(registry.start)
        await wait_for_async(
            lambda: "stands aside" in tail(registry.log_path, 40), STAND_ASIDE_S, "standing aside"
        )
        assert _ready(registry.metrics_port) == 0.0
        await announce(transport, foreign, "ended")
        await wait_for_async(
            lambda: _ready(registry.metrics_port) == 1.0, STAND_ASIDE_S, "ready again"
        )
        await announce(transport, mine.model_copy(update={"run_id": "same-population"}), "running")
        # The scenario: nothing is awaited, a run it agrees with must leave it ready for a while.
        await asyncio.sleep(2)
        assert _ready(registry.metrics_port) == 1.0
        await announce(transport, mine.model_copy(update={"run_id": "same-population"}), "ended")


def _ready(port: int) -> float | None:
    try:
        return sample(port, "ndx_service_ready", {"service": "registry"})
    except OSError:
        return None
