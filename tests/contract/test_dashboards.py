"""Every dashboard reads the provisioned data source and every panel says what it shows, how."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
GRAFANA = DEPLOY / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "dashboards.yml"
LAYOUT_ONLY = {"row", "text"}


def load_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def provisioned_uid() -> str:
    sources = yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))["datasources"]
    assert len(sources) == 1 and sources[0]["type"] == "prometheus", sources
    uid: str = sources[0]["uid"]
    return uid


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those folded into rows included; rows and text panels show no data."""
    for panel in dashboard.get("panels", []):
        yield from panels(panel)
        if panel.get("type") not in LAYOUT_ONLY:
            yield panel


def name(path: Path, panel: dict[str, Any]) -> str:
    return f"{path.name}: panel {panel.get('id')} {panel.get('title', '(untitled)')!r}"


@pytest.fixture(params=DASHBOARDS, ids=lambda p: p.name)
def dashboard(request: pytest.FixtureRequest) -> tuple[Path, dict[str, Any]]:
    path: Path = request.param
    return path, load_json(path)


def test_there_are_the_two_dashboards() -> None:
    assert [p.name for p in DASHBOARDS] == ["kafka-broker.json", "sharing-transactions.json"]


def test_every_panel_has_a_title_a_description_a_unit_and_a_query(
    dashboard: tuple[Path, dict[str, Any]],
) -> None:
    path, board = dashboard
    problems = []
    for panel in panels(board):
        where = name(path, panel)
        if not str(panel.get("title", "")).strip():
            problems.append(f"{where}: no title")
        if not str(panel.get("description", "")).strip():
            problems.append(f"{where}: no description")
        if not panel.get("fieldConfig", {}).get("defaults", {}).get("unit"):
            problems.append(f"{where}: no unit")
        targets = panel.get("targets") or []
        if not targets or not all(str(t.get("expr", "")).strip() for t in targets):
            problems.append(f"{where}: a target without a query")
    assert not problems, "\n".join(problems)


def test_every_panel_and_query_uses_the_provisioned_data_source(
    dashboard: tuple[Path, dict[str, Any]],
) -> None:
    path, board = dashboard
    uid = provisioned_uid()
    wrong = []
    for panel in panels(board):
        sources = [panel.get("datasource") or {}]
        sources += [t.get("datasource") or {} for t in panel.get("targets", [])]
        if any(s.get("uid") != uid or s.get("type") != "prometheus" for s in sources):
            wrong.append(name(path, panel))
    assert not wrong, f"panels not on data source {uid!r}: {wrong}"


def test_queries_need_no_template_variables(dashboard: tuple[Path, dict[str, Any]]) -> None:
    path, board = dashboard
    templated = [
        name(path, p) for p in panels(board) for t in p["targets"] if "$" in t.get("expr", "")
    ]
    assert not templated, f"queries with template variables: {templated}"


def test_dashboard_uids_are_unique_and_panel_ids_unique_within_each() -> None:
    boards = [load_json(p) for p in DASHBOARDS]
    uids = [b["uid"] for b in boards]
    assert len(set(uids)) == len(uids), uids
    for path, board in zip(DASHBOARDS, boards, strict=True):
        ids = [p["id"] for p in board["panels"]]
        assert len(set(ids)) == len(ids), f"{path.name}: duplicate panel ids {ids}"


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool is missing: `make system-deps` installs Debian's prometheus package")
    queries = [
        (f"{name(path, panel)} {target['refId']}", target["expr"])
        for path in DASHBOARDS
        for panel in panels(load_json(path))
        for target in panel["targets"]
    ]
    rules = [{"record": f"dashboard_query_{i}", "expr": e} for i, (_, e) in enumerate(queries)]
    checked = tmp_path / "dashboard-queries.yml"
    checked.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    done = subprocess.run(
        [exe, "check", "rules", str(checked)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    legend = "\n".join(f"dashboard_query_{i}: {where}" for i, (where, _) in enumerate(queries))
    assert done.returncode == 0, f"{done.stdout}{done.stderr}\n{legend}"


def test_the_sharing_dashboard_shows_what_the_operator_watches() -> None:
    board = load_json(GRAFANA / "dashboards" / "sharing-transactions.json")
    exprs = " ".join(t["expr"] for p in panels(board) for t in p["targets"])
    wanted = {
        "rate by requester": "sum by (requester) (rate(ndx_sharing_transactions_total",
        "rate by provider": "sum by (provider) (rate(ndx_sharing_transactions_total",
        "rate by flow": "flow:ndx_sharing_transactions:rate1m",
        "rate by outcome": "outcome:ndx_sharing_transactions:rate1m",
        "growth vs baseline": "scenario:ndx_sharing_transactions:growth_ratio",
        "online share of dossiers": "platform:ndx_dossiers:online_ratio_rate5m",
        "latency p50": "flow:ndx_request_duration_seconds:p50_rate1m",
        "latency p95": "flow:ndx_request_duration_seconds:p95_rate1m",
        "latency p99": "flow:ndx_request_duration_seconds:p99_rate1m",
        "timeouts": "flow:ndx_request_timeouts:rate1m",
        "dead letters": "ndx_dead_letters_total",
        "consumer lag": "group_topic:ndx_consumer_lag_records:sum",
        "in flight": "requester_kind:ndx_requests_in_flight:sum",
        "p99 per link": "requester_flow:ndx_request_duration_seconds:p99_rate1m",
        "hop breakdown": "flow_hop:ndx_hop_duration_seconds:p99_rate1m",
    }
    missing = [what for what, expr in wanted.items() if expr not in exprs]
    assert not missing, f"the sharing dashboard lacks: {missing}"


def test_the_broker_dashboard_shows_requests_throughput_health_and_latency() -> None:
    board = load_json(GRAFANA / "dashboards" / "kafka-broker.json")
    exprs = " ".join(t["expr"] for p in panels(board) for t in p["targets"])
    wanted = {
        "request rate": "kafka_network_requests_total",
        "bytes in": "kafka_server_bytes_in_total",
        "bytes out": "kafka_server_bytes_out_total",
        "messages in": "kafka_server_messages_in_total",
        "under-replicated partitions": "kafka_server_under_replicated_partitions",
        "request latency": "kafka_network_request_time_seconds",
    }
    missing = [what for what, expr in wanted.items() if expr not in exprs]
    assert not missing, f"the broker dashboard lacks: {missing}"


def test_compose_mounts_provisioning_and_dashboards_where_grafana_reads_them() -> None:
    grafana = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    volumes = grafana["services"]["grafana"]["volumes"]
    provider = yaml.safe_load(PROVIDERS.read_text(encoding="utf-8"))["providers"][0]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in volumes
