"""A bad design given to `ndxsim run` or `ndxsim compare` stops it before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_input_errors import CLOSED, refused, run, scenario

CASES = [
    ("name: d\nregistry: {instnces: 2}\n", ["registry.instnces", "Extra inputs"]),
    ("name: d\ntopics: {requests: lots}\n", ["topics.requests"]),
    (
        "name: d\ncluster: {brokers: 3, replication_factor: 2, min_insync_replicas: 3}\n",
        ["cluster", "min_insync_replicas (3) exceeds replication_factor (2)"],
    ),
    ("name: d\nrequesters: {timeout_s: -1}\n", ["requesters.timeout_s"]),
]


@pytest.mark.parametrize(("text", "names"), CASES, ids=["typo", "type", "isr", "negative"])
def test_run_refuses_a_bad_design_naming_the_file_and_the_field(
    tmp_path: Path, text: str, names: list[str]
) -> None:
    design = tmp_path / "design.yaml"
    design.write_text(text, encoding="utf-8")
    args = [
        "loadtests",
        "run",
        str(scenario(tmp_path)),
        "--no-live",
        "--design",
        str(design),
        "--runs-dir",
        str(tmp_path / "runs"),
    ]
    refused(run(args, tmp_path, KAFKA_BOOTSTRAP_SERVERS=CLOSED), str(design), *names)


def test_a_fault_naming_a_registry_instance_the_design_lacks_is_refused(tmp_path: Path) -> None:
    path = scenario(tmp_path)
    path.write_text(
        path.read_text() + "faults:\n  - {action: kill_registry, at_s: 1, instance: 3}\n"
    )
    args = ["loadtests", "run", str(path), "--no-live", "--runs-dir", str(tmp_path / "runs")]
    refused(
        run(args, tmp_path, KAFKA_BOOTSTRAP_SERVERS=CLOSED),
        str(path),
        "faults[0].instance",
        "baseline",
    )


def test_compare_refuses_a_missing_design_and_a_single_one(tmp_path: Path) -> None:
    path = scenario(tmp_path)
    missing = tmp_path / "nowhere.yaml"
    base = ["loadtests", "compare", str(path), "--runs-dir", str(tmp_path / "runs")]
    baseline = str(Path(__file__).resolve().parents[2] / "deploy/designs/baseline.yaml")
    refused(
        run(
            [*base, "--design", baseline, "--design", str(missing)],
            tmp_path,
            KAFKA_BOOTSTRAP_SERVERS=CLOSED,
        ),
        str(missing),
    )
    refused(
        run([*base, "--design", baseline], tmp_path, KAFKA_BOOTSTRAP_SERVERS=CLOSED), "at least two"
    )
