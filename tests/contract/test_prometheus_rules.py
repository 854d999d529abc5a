"""promtool accepts the Prometheus configs and rules, and every rule has a passing unit test."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from loadtests.stack.components import JMX_PORT, LOCAL_ONLY_JOBS, MEMBERS, SUPERVISOR_PORT

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROM = DEPLOY / "prometheus"
RULE_FILES = sorted((PROM / "rules").glob("*.yml"))
TEST_FILES = sorted((PROM / "tests").glob("*.yml"))
CONFIGS = ("prometheus.yml", "prometheus.docker.yml")
NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def promtool(*args: str) -> str:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool is missing: `make system-deps` installs Debian's prometheus package")
    done = subprocess.run(
        [exe, *args], cwd=PROM, capture_output=True, text=True, timeout=120, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"`promtool {' '.join(args)}` failed:\n{output}"
    return output


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules(kind: str) -> list[str]:
    return [r[kind] for f in RULE_FILES for g in load(f)["groups"] for r in g["rules"] if kind in r]


def relative(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(PROM)) for p in paths]


@pytest.mark.parametrize("config", CONFIGS)
def test_promtool_accepts_the_config_and_its_rule_files(config: str) -> None:
    promtool("check", "config", config)


def test_promtool_accepts_every_rule_file() -> None:
    assert RULE_FILES, "no rule files under deploy/prometheus/rules"
    promtool("check", "rules", *relative(RULE_FILES))


def test_rule_unit_tests_pass() -> None:
    assert TEST_FILES, "no promtool tests under deploy/prometheus/tests"
    promtool("test", "rules", *relative(TEST_FILES))


def test_every_recording_and_alert_rule_has_a_unit_test() -> None:
    tested_series: set[str] = set()
    tested_alerts: set[str] = set()
    for path in TEST_FILES:
        for group in load(path)["tests"]:
            for case in group.get("promql_expr_test", []):
                tested_series.update(NAME.findall(case["expr"]))
            tested_alerts.update(case["alertname"] for case in group.get("alert_rule_test", []))
    untested = [r for r in rules("record") if r not in tested_series]
    untested += [a for a in rules("alert") if a not in tested_alerts]
    assert not untested, f"rules without a promtool test: {untested}"


def test_every_alert_has_a_severity_a_summary_and_a_description() -> None:
    bare = []
    for path in RULE_FILES:
        for group in load(path)["groups"]:
            for rule in (r for r in group["rules"] if "alert" in r):
                annotations = rule.get("annotations", {})
                if rule.get("labels", {}).get("severity") not in ("warning", "critical"):
                    bare.append(f"{rule['alert']}: severity")
                bare += [
                    f"{rule['alert']}: {k}"
                    for k in ("summary", "description")
                    if k not in annotations
                ]
    assert not bare, f"alerts missing labels or annotations: {bare}"


def test_local_and_docker_configs_scrape_the_same_jobs_with_the_same_rules() -> None:
    local, docker = (load(PROM / name) for name in CONFIGS)
    assert [
        j["job_name"] for j in local["scrape_configs"] if j["job_name"] not in LOCAL_ONLY_JOBS
    ] == [j["job_name"] for j in docker["scrape_configs"]]
    assert local["rule_files"] == docker["rule_files"]
    assert {k: v for k, v in local["global"].items() if k != "external_labels"} == {
        k: v for k, v in docker["global"].items() if k != "external_labels"
    }


def test_local_config_scrapes_every_port_make_up_opens() -> None:
    config = load(PROM / "prometheus.yml")
    targets = {
        j["job_name"]: [t for c in j["static_configs"] for t in c["targets"]]
        for j in config["scrape_configs"]
    }
    for member in MEMBERS:
        assert targets.get(member.name) == [f"127.0.0.1:{member.metrics_port}"], member.name
    assert targets.get("kafka") == [f"127.0.0.1:{JMX_PORT}"]
    assert targets.get("supervisor") == [f"127.0.0.1:{SUPERVISOR_PORT}"]


def test_compose_mounts_the_docker_config_and_the_rules_where_prometheus_reads_them() -> None:
    compose = load(DEPLOY / "compose.yaml")
    volumes = compose["services"]["prometheus"]["volumes"]
    assert "./prometheus/prometheus.docker.yml:/etc/prometheus/prometheus.yml:ro" in volumes
    assert "./prometheus/rules:/etc/prometheus/rules:ro" in volumes
    rule_files = load(PROM / "prometheus.docker.yml")["rule_files"]
    assert all(f.startswith("rules/") for f in rule_files), rule_files


def docker_targets() -> dict[str, tuple[str, int]]:
    """Job -> (host, port) Prometheus scrapes in the Docker stack."""
    out = {}
    for job in load(PROM / "prometheus.docker.yml")["scrape_configs"]:
        for static in job.get("static_configs", []):
            host, port = static["targets"][0].rsplit(":", 1)
            out[job["job_name"]] = (host, int(port))
        for dns in job.get("dns_sd_configs", []):
            out[job["job_name"]] = (dns["names"][0], int(dns["port"]))
    return out


def test_docker_config_scrapes_compose_services_on_the_ports_they_serve() -> None:
    services = load(DEPLOY / "compose.yaml")["services"]
    wrong = []
    for job, (host, port) in docker_targets().items():
        service = services.get(host)
        if service is None:
            wrong.append(f"{job}: no compose service {host!r}")
            continue
        env = service.get("environment", {})
        served = env.get("NDX_METRICS_PORT") or env.get("KAFKA_OPTS", "")
        if str(port) != served and f"={port}:" not in served:
            wrong.append(f"{job}: scraped on {port}, service serves {served!r}")
    assert not wrong, wrong
