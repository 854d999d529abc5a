"""The simulated world over a real secured broker: four flows, twenty agencies, audit without
ids."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from loadtests.engine.run import execute
from loadtests.report import RunReport
from services.wire.codec import Catalogue, Codec, CodecError
from services.wire.messages import LookupRequested, SharingAudited, VerificationRequested
from services.wire.topics import AUDIT, LOOKUP, VERIFY
from services.world.topology import load_topology
from tests.support.secured import SecuredCluster, playing_on, secured_cluster
from tests.support.topics import read_topic

REPO = Path(__file__).resolve().parents[2]
PROVINCES = [
    "001",
    "079",
    "048",
    "092",
    "031",
    "038",
    "040",
    "075",
    "074",
    "027",
    "026",
    "019",
    "033",
    "036",
    "056",
    "066",
    "089",
    "094",
]
SCENARIO = f"""
name: world
topology: {REPO}/loadtests/topologies/vn-2024.yaml
agencies: [{", ".join(f"province.{c}" for c in PROVINCES)},
           ministry.vss, ministry.tax, ministry.justice, ministry.health]
timeout_s: 30
periods:
  - {{name: mixed, duration_s: 25, rate_per_s: 400, max_requests: 10000, online_share: 0.4}}
mix: {{verify: 0.6, lookup: 0.2, dossier: 0.15, death: 0.05}}
errors: {{wrong_name: 0.06, wrong_birth_date: 0.05, unknown_id: 0.05, invalid_id: 0.03,
          no_legal_basis: 0.02, unauthorised_lookup: 0.05}}
"""


def decoded(codec: Codec, value: bytes | None) -> object | None:
    try:
        return codec.decode(value or b"")
    except CodecError:  # other tests write poison, null values included, to the same topics
        return None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredCluster]:
    topology = load_topology(REPO / "loadtests" / "topologies" / "vn-2024.yaml")
    with secured_cluster(tmp_path_factory.mktemp("world-kafka"), topology) as made:
        yield made


@pytest.fixture(scope="module")
async def world(cluster: SecuredCluster, tmp_path_factory: pytest.TempPathFactory) -> RunReport:
    tmp = tmp_path_factory.mktemp("world")
    scenario = tmp / "world.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    with playing_on(cluster) as settings:
        return await execute(scenario, tmp / "runs", settings, Console(quiet=True), live=False)


async def test_ten_thousand_mixed_requests_from_22_agencies_are_all_correct(
    world: RunReport,
) -> None:
    phase = world.phases[0]
    assert phase.sent == 10_000
    assert len(phase.agencies) == 22
    assert (phase.lost, phase.incorrect, phase.timed_out) == (0, 0, 0)
    assert set(phase.flows) == {"verify", "lookup", "dossier", "death"}
    assert {"MATCH", "MISMATCH", "NOT_FOUND", "DECEASED", "REJECTED"} <= set(phase.outcomes)
    assert {"FOUND", "REFUSED", "DIED"} <= set(phase.outcomes)
    assert phase.change_deliveries > 0
    assert phase.online_share is not None
    assert phase.online_share.measured == pytest.approx(0.4, abs=0.01)


async def test_audit_holds_one_record_per_transaction_and_never_a_citizen_id(
    world: RunReport, cluster: SecuredCluster
) -> None:
    codec = Codec(Catalogue())
    bootstrap, admin = cluster.stack.bootstrap, cluster.stack.admin
    ours = world.run_id + ":"  # as if the cluster held other runs' traffic
    read = [
        r
        for t in (VERIFY.name, LOOKUP.name)
        for r in await read_topic(bootstrap, t, security=admin)
    ]
    requests = [
        m
        for r in read
        if (m := decoded(codec, r.value)) is not None
        and getattr(m, "request_id", "").startswith(ours)
    ]
    ids = {r.request_id for r in requests if isinstance(r, VerificationRequested | LookupRequested)}
    citizen_ids = {
        r.citizen_id for r in requests if isinstance(r, VerificationRequested | LookupRequested)
    }
    audit_raw = await read_topic(bootstrap, AUDIT.name, security=admin)
    audits = [
        a
        for r in audit_raw
        if isinstance(a := codec.decode(r.value), SharingAudited) and a.request_id.startswith(ours)
    ]
    assert all(isinstance(a, SharingAudited) for a in audits)
    by_flow = Counter(a.flow for a in audits if isinstance(a, SharingAudited))
    answered = [
        a.request_id
        for a in audits
        if isinstance(a, SharingAudited) and a.flow in ("verify", "lookup")
    ]
    assert len(answered) == len(set(answered)) == len(ids)
    assert set(answered) == ids
    phase = world.phases[0]
    assert by_flow["civil"] == phase.flows["death"]
    # The registry audits a change once, when it publishes it; a subscribing ministry counts its
    # delivery as a transaction but has no right to write the audit stream.
    assert by_flow["change"] == 0 and phase.change_deliveries > 0
    blob = b"\n".join(r.value for r in audit_raw)
    leaked = [c for c in citizen_ids if len(c) == 12 and c.encode() in blob]
    assert leaked == []
