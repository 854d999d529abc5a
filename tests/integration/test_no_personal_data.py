"""After a secured run of all four flows and a bulk reconciliation of sellers (with malformed and
unknown ids among them), no citizen id it used appears in any service or driver log, any
/metrics label value, any dead letter's headers, the audit stream (which keeps only a keyed
hash) or the tax authority's published results (which name sellers by their platform's
reference)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from loadtests.engine.run import execute
from loadtests.stack import platform as stack_module
from loadtests.stack.serviceproc import scrape
from services.config.settings import load_settings
from services.wire import BulkVerificationRequested, SellersShared
from services.wire.codec import Catalogue, Codec, CodecError
from services.wire.topics import AUDIT, CIVIL, DLQ, DOSSIERS, LOOKUP, RECONCILED, SELLERS, VERIFY
from services.world.topology import load_topology
from tests.support.secured import SecuredCluster, secured_cluster
from tests.support.topics import read_topic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
REPO = Path(__file__).resolve().parents[2]
SCENARIO = f"""
name: scan
topology: {REPO}/loadtests/topologies/demo.yaml
agencies: [province.001, province.079, ministry.vss, ministry.tax, ministry.justice]
timeout_s: 5
retries: 3
periods:
  - {{name: load, duration_s: 12, rate_per_s: 60, online_share: 0.4}}
mix: {{verify: 0.55, lookup: 0.2, dossier: 0.15, death: 0.1}}
errors: {{wrong_name: 0.05, unknown_id: 0.05, invalid_id: 0.05, unauthorised_lookup: 0.1}}
faults:  # its request in another agency's name is dead-lettered: DLQ headers to scan
  - {{action: rogue_agency, at_s: 4, agency: province.001, victim: province.079}}
bulk:
  - name: scan
    at_s: 2
    individuals: 1500
    enterprises: 500
    faults: {{wrong_name: 0.05, unknown_id: 0.05, invalid_id: 0.05, deceased: 0.02}}
"""
CODEC = Codec(Catalogue())
SHORTEST_ID = 6  # shorter malformed ids would match by chance anywhere; real ids have 12 digits


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredCluster]:
    topology = load_topology(REPO / "loadtests" / "topologies" / "demo.yaml")
    with secured_cluster(tmp_path_factory.mktemp("scan"), topology) as made:
        yield made


def label_values(text: str) -> set[str]:
    return {
        value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        for value in sample.labels.values()
    }


async def test_no_citizen_id_appears_in_logs_labels_dead_letter_headers_or_audit(
    cluster: SecuredCluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pages: dict[str, str] = {}
    stop = stack_module.RunStack.stop

    def scraped_then_stopped(self: stack_module.RunStack) -> dict[str, int | None]:
        for svc in self.services:  # every service's last /metrics page before it stops
            pages[svc.name] = scrape(svc.metrics_port)
        return stop(self)

    monkeypatch.setattr(stack_module.RunStack, "stop", scraped_then_stopped)
    monkeypatch.setenv("NDX_CREDENTIALS", str(cluster.credentials))
    monkeypatch.chdir(REPO)
    scenario = tmp_path / "scan.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    settings = load_settings(KAFKA_BOOTSTRAP_SERVERS=cluster.stack.bootstrap)
    with caplog.at_level(logging.INFO):  # the level the driver logs at
        report = await execute(
            scenario, tmp_path / "runs", settings, Console(quiet=True), live=False
        )
    phase = report.phases[0]
    assert (phase.lost, phase.incorrect) == (0, 0), phase
    assert report.bulk is not None
    [job] = report.bulk.jobs
    assert (job.answered, job.lost, job.incorrect) == (2000, 0, 0), job

    bootstrap, admin = cluster.stack.bootstrap, cluster.stack.admin
    used: set[str] = set()
    for topic in (VERIFY, LOOKUP, CIVIL):
        for rec in await read_topic(bootstrap, topic.name, security=admin):
            try:
                message = CODEC.decode(rec.value)
            except CodecError:
                continue
            if isinstance(message, BulkVerificationRequested):  # the shared lane carries bulk
                used.update(item.citizen_id for item in message.items)
            else:
                used.add(message.citizen_id)
    for rec in await read_topic(bootstrap, SELLERS.name, security=admin):
        shared = CODEC.decode(rec.value)
        assert isinstance(shared, SellersShared)
        used.update(s.citizen_id for s in shared.sellers)
    ids = {i for i in used if len(i) >= SHORTEST_ID}
    assert len(ids) > 300 and any(not i.isdigit() or len(i) != 12 for i in ids)  # some malformed

    logs = {
        p.name: p.read_text(encoding="utf-8", errors="replace")
        for p in (tmp_path / "runs").rglob("*.log")
    }
    assert {"registry-1.log", "monitor.log", "tax.log"} <= set(logs)
    logs["driver (this process)"] = caplog.text
    pages["driver (this process)"] = generate_latest(REGISTRY).decode()
    assert set(pages) >= {"registry-1", "monitor", "tax"}
    labels = {name: label_values(text) for name, text in pages.items()}
    letters = await read_topic(bootstrap, DLQ.name, security=admin)
    assert letters, "the rogue agency's forged request should have made a dead letter"
    headers = [value.decode("utf-8", "replace") for r in letters for _, value in r.headers]
    audit = await read_topic(bootstrap, AUDIT.name, security=admin)
    dossiers = await read_topic(bootstrap, DOSSIERS.name, security=admin)
    results = await read_topic(bootstrap, RECONCILED.name, security=admin)
    assert audit and dossiers and results

    leaks = []
    for cid in ids:
        leaks += [f"log {name}" for name, text in logs.items() if cid in text]
        leaks += [
            f"/metrics label of {name}"
            for name, values in labels.items()
            if any(cid in v for v in values)
        ]
        leaks += ["dead letter header" for h in headers if cid in h]
        leaks += ["audit record" for r in audit if cid.encode() in (r.value or b"")]
        leaks += ["dossier record" for r in dossiers if cid.encode() in (r.value or b"")]
        leaks += ["tax result" for r in results if cid.encode() in (r.value or b"")]
    assert not leaks, f"{len(leaks)} leak(s), e.g. {sorted(set(leaks))[:8]}"
