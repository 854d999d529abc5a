"""The audit stream is keyed by the installation's key or a given one, which no output shows."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import uuid
from pathlib import Path

from loadtests.stack.serviceproc import free_port
from services.kafka.bus import KafkaTransport
from services.requester.agency import AgencyClient
from services.security.auditkey import installation_key
from services.wire.codec import Catalogue, Codec
from services.wire.messages import SharingAudited, VerificationRequested
from services.wire.topics import AUDIT
from services.world.citizenref import citizen_ref
from services.world.population import Population
from tests.support.inproc import REPO, SEED
from tests.support.processes import reaped, service, start_ready
from tests.support.topics import read_topic

GIVEN = "operator-given-audit-key-" + uuid.uuid4().hex[:8]
SCENARIO = f"""
name: keyed
topology: {REPO}/loadtests/topologies/demo.yaml
agencies: [province.001, ministry.vss, ministry.justice]
periods:
  - {{name: p, duration_s: 4, rate_per_s: 40}}
mix: {{verify: 0.8, lookup: 0.1, death: 0.1}}
"""


def files_holding(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


async def test_a_given_key_keys_the_audit_stream_and_is_never_logged(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    registry = service(
        "registry",
        "registry-keyed",
        kafka_bootstrap,
        tmp_path,
        NDX_AUDIT_KEY=GIVEN,
        NDX_SEED=str(SEED),
    )
    codec = Codec(Catalogue())
    rng = random.Random(os.getpid())
    citizens = [Population(SEED).draw_living(rng, "001") for _ in range(5)]
    client = AgencyClient("province.001", KafkaTransport(kafka_bootstrap), codec, 30)
    sent: dict[str, str] = {}
    async with reaped(registry):
        await start_ready(registry, "registry")
        await client.start()
        try:
            for c in citizens:
                req = VerificationRequested(
                    uuid.uuid4().hex,
                    "province.001",
                    c.citizen_id,
                    c.full_name,
                    c.birth_date,
                    "public-service-dossier",
                    "",
                    0,
                )
                assert (await client.request(req)).outcome == "MATCH"
                sent[req.request_id] = c.citizen_id
        finally:
            await client.stop()
    audits = [codec.decode(r.value) for r in await read_topic(kafka_bootstrap, AUDIT.name)]
    ours = {
        a.request_id: a for a in audits if isinstance(a, SharingAudited) and a.request_id in sent
    }
    assert set(ours) == set(sent)
    mine = installation_key()
    for request_id, audited in ours.items():
        assert audited.citizen_ref == citizen_ref(sent[request_id], GIVEN.encode())
        assert audited.citizen_ref != citizen_ref(sent[request_id], mine)
    assert files_holding(tmp_path, GIVEN) == []


def test_a_run_shows_the_installation_key_nowhere(kafka_bootstrap: str, tmp_path: Path) -> None:
    scenario = tmp_path / "keyed.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "NDX_AUDIT_KEY"}
    env.update(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, NDX_METRICS_PORT=str(free_port()))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtests",
            "run",
            str(scenario),
            "--no-live",
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    key = installation_key().decode()
    assert key not in done.stdout + done.stderr
    assert list((tmp_path / "runs").rglob("report.json")), "the run wrote no report"
    assert files_holding(tmp_path / "runs", key) == []  # reports and every service's log
