"""Every bad input a person can give ends in one message naming the file or variable, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "loadtests" / "scenarios" / "demo.yaml"
CLOSED = "127.0.0.1:1"  # never contacted: every case here fails before connecting
SCENARIO = """
name: bad
topology: {topology}
periods:
  - {{name: only, duration_s: 60, rate_per_s: {rate}}}
"""


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NDX_") and k != "KAFKA_BOOTSTRAP_SERVERS"
    }
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=tmp_path,
        env={**clean, "COLUMNS": "400", **env},  # a long path is not wrapped inside a word
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def refused(done: subprocess.CompletedProcess[str], *names: str) -> str:
    """Exit 2, no traceback, and every name (file, variable, field) in the message."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    message = " ".join((done.stderr + done.stdout).split())  # rich wraps long lines
    for name in names:
        assert name in message, (name, message)
    return message


def scenario(tmp_path: Path, rate: str = "10", topology: Path | None = None) -> Path:
    path = tmp_path / "s.yaml"
    text = SCENARIO.format(topology=topology or REPO / "loadtests/topologies/demo.yaml", rate=rate)
    path.write_text(text, encoding="utf-8")
    return path


def ndxsim_run(path: Path, tmp_path: Path, *more: str, **env: str) -> list[str]:
    return ["loadtests", "run", str(path), "--no-live", "--runs-dir", str(tmp_path / "runs"), *more]


def test_a_scenario_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(
        DEMO.read_text(encoding="utf-8").replace("demo", "dém").encode("latin-1", errors="replace")
    )
    refused(run(ndxsim_run(path, tmp_path), tmp_path), str(path), "not UTF-8")


def test_a_topology_file_that_is_not_utf8(tmp_path: Path) -> None:
    topology = tmp_path / "t.yaml"
    text = (REPO / "loadtests/topologies/demo.yaml").read_text(encoding="utf-8")
    topology.write_bytes(text.encode("utf-16"))
    path = scenario(tmp_path, topology=topology)
    refused(run(ndxsim_run(path, tmp_path), tmp_path), str(topology), "not UTF-8")


def test_an_absurd_rate_is_refused_before_any_broker_starts(tmp_path: Path) -> None:
    path = scenario(tmp_path, rate="1e10")
    message = refused(
        run(ndxsim_run(path, tmp_path), tmp_path), str(path), "periods[0] (only)", "10,000,000"
    )
    assert "6e+11 arrivals" in message
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    assert not (REPO / ".cache" / "brokers").exists() or not any(
        p.name.endswith("-bad") for p in (REPO / ".cache" / "brokers").iterdir()
    )


@pytest.mark.parametrize(
    ("value", "why"),
    [("127.0.0.1:99999", "not in 1..65535"), ("localhost", "host:port"), ("a:1,,b:2", "host:port")],
)
def test_an_unparsable_bootstrap_address_names_the_variable(
    tmp_path: Path, value: str, why: str
) -> None:
    path = scenario(tmp_path)
    done = run(ndxsim_run(path, tmp_path), tmp_path, KAFKA_BOOTSTRAP_SERVERS=value)
    refused(done, "KAFKA_BOOTSTRAP_SERVERS", why)


@pytest.mark.parametrize("service", ["registry", "monitor", "ministry", "province"])
def test_a_service_refuses_an_unparsable_bootstrap_address(tmp_path: Path, service: str) -> None:
    done = run([f"services.{service}"], tmp_path, KAFKA_BOOTSTRAP_SERVERS="broker:port")
    refused(done, "KAFKA_BOOTSTRAP_SERVERS", "'broker:port'")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NDX_CONNECT_TIMEOUT_S", "inf"),
        ("NDX_RATE_PER_AGENCY", "nan"),
        ("NDX_SEED", "six"),
        ("NDX_METRICS_PORT", "70000"),
        ("NDX_INSTANCE", "registry 1; rm"),
    ],
)
def test_a_bad_setting_names_its_variable(tmp_path: Path, variable: str, value: str) -> None:
    done = run(["services.registry"], tmp_path, KAFKA_BOOTSTRAP_SERVERS=CLOSED, **{variable: value})
    refused(done, variable)


def test_a_requester_host_refuses_agencies_outside_its_topology(tmp_path: Path) -> None:
    done = run(
        ["services.province"],
        tmp_path,
        KAFKA_BOOTSTRAP_SERVERS=CLOSED,
        NDX_AGENCIES="province.001,province.999,ministry.vss",
    )
    refused(done, "NDX_AGENCIES", "province.999", "ministry.vss")


def test_a_service_topology_that_is_not_utf8(tmp_path: Path) -> None:
    topology = tmp_path / "t.yaml"
    topology.write_bytes(b"name: \xe9\n")
    done = run(
        ["services.registry"], tmp_path, KAFKA_BOOTSTRAP_SERVERS=CLOSED, NDX_TOPOLOGY=str(topology)
    )
    refused(done, str(topology), "not UTF-8", "line 1")


@pytest.mark.parametrize(
    ("option", "value"),
    [("--max-rate", "nan"), ("--start-rate", "inf"), ("--step-seconds", "1e9")],
)
def test_capacity_options_must_be_ordinary_numbers(tmp_path: Path, option: str, value: str) -> None:
    done = run(["loadtests", "capacity", str(scenario(tmp_path)), option, value], tmp_path)
    refused(done, option)


def test_capacity_refuses_a_step_planning_too_many_arrivals(tmp_path: Path) -> None:
    args = [
        "loadtests",
        "capacity",
        str(scenario(tmp_path)),
        "--max-rate",
        "1e7",
        "--step-seconds",
        "60",
    ]
    refused(run(args, tmp_path), "--max-rate", "--step-seconds")


def test_a_runs_dir_that_cannot_be_written_is_refused_before_the_run(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    args = ["loadtests", "run", str(scenario(tmp_path)), "--runs-dir", str(blocker / "runs")]
    refused(run(args, tmp_path), "--runs-dir", str(blocker / "runs"))


@pytest.mark.parametrize(
    "args",
    [
        ["--max-rate", "inf"],
        ["--step-seconds", "nan"],
        ["--max-rate", "1e9"],
        ["--registries", "0"],
    ],
)
def test_bench_options_must_be_ordinary_numbers(tmp_path: Path, args: list[str]) -> None:
    refused(run(["loadtests.bench", *args], tmp_path), args[0])


def test_a_quota_typo_in_a_design_is_refused_before_any_broker_starts(tmp_path: Path) -> None:
    design = tmp_path / "d.yaml"
    design.write_text(
        "name: typo\nbulk:\n  quotas:\n    ministry.tax: {produce_byte_rate: 65536}\n",
        encoding="utf-8",
    )
    args = ndxsim_run(scenario(tmp_path), tmp_path, "--design", str(design))
    done = run(args, tmp_path, KAFKA_BOOTSTRAP_SERVERS=CLOSED)
    refused(done, str(design), "bulk.quotas", "produce_byte_rate")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_bulk_job_in_no_period_and_too_large_a_share_are_refused(tmp_path: Path) -> None:
    path = scenario(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text + "bulk:\n  - {name: tax, period: nowhere, individuals: 10, share_size: 5000}\n",
        encoding="utf-8",
    )
    done = run(ndxsim_run(path, tmp_path), tmp_path, KAFKA_BOOTSTRAP_SERVERS=CLOSED)
    refused(done, str(path), "bulk[0].share_size")
    path.write_text(
        text + "bulk:\n  - {name: tax, period: nowhere, individuals: 10}\n", encoding="utf-8"
    )
    done = run(ndxsim_run(path, tmp_path), tmp_path, KAFKA_BOOTSTRAP_SERVERS=CLOSED)
    refused(done, str(path), "bulk job tax: no period 'nowhere'")


def test_platforms_with_no_tax_authority_to_reconcile_them_are_refused(tmp_path: Path) -> None:
    topology = tmp_path / "t.yaml"
    topology.write_text(
        "name: t\ndescription: d\nministry_share: 0\n"
        "provinces: [{id: province.001, code: '001', name: HN, population: 10}]\n"
        "platforms: [{id: platform.shop, name: Shop, weight: 1}]\n",
        encoding="utf-8",
    )
    done = run(ndxsim_run(scenario(tmp_path, topology=topology), tmp_path), tmp_path)
    refused(done, str(topology), "platforms", "ministry.tax")
