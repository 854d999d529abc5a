"""SLO verdicts for a run: the scenario's targets plus the ledger's own invariants."""

from __future__ import annotations

from typing import Any

from loadtests.scenario import Slo


def _check(name: str, target: float, measured: float | None, passed: bool) -> dict[str, Any]:
    return {"name": name, "target": target, "measured": measured, "passed": passed}


def _latency_checks(slo: Slo, phase: dict[str, Any]) -> list[dict[str, Any]]:
    """Per flow: the flow's own target where the scenario names one, else the global one."""
    checks = []
    for flow, lat in phase.get("flow_latency_ms", {"all": phase["latency_ms"]}).items():
        flow_slo = slo.flows.get(flow)
        for pct in ("p50", "p99"):
            target = getattr(flow_slo, f"{pct}_ms", None) if flow_slo else None
            target = target if target is not None else getattr(slo, f"{pct}_ms")
            if target is not None:
                name = f"{phase['name']}.{flow}.{pct}_ms"
                checks.append(_check(name, target, lat[pct], lat[pct] <= target))
    return checks


def verdict(
    slo: Slo,
    phases: list[dict[str, Any]],
    total: dict[str, Any],
    growth: dict[str, Any] | None = None,
    warmup: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every check names what it measured; the run passes only if all pass."""
    checks = [
        _check("lost", 0, total["lost"], total["lost"] == 0),
        _check("incorrect", 0, total["incorrect"], total["incorrect"] == 0),
    ]
    if warmup is not None:  # unmeasured, but accounted for like the rest
        checks.append(_check("warm-up.lost", 0, warmup["lost"], warmup["lost"] == 0))
        checks.append(_check("warm-up.incorrect", 0, warmup["incorrect"],
                             warmup["incorrect"] == 0))  # fmt: skip
    sent = max(total["sent"], 1)
    timeout_share = total["timed_out"] / sent
    checks.append(_check("timeout_share", slo.max_timeout_share, round(timeout_share, 6),
                         timeout_share <= slo.max_timeout_share))  # fmt: skip
    if slo.max_late_send_share is not None:
        late = total["late_sends"] / sent
        checks.append(_check("late_send_share", slo.max_late_send_share, round(late, 6),
                             late <= slo.max_late_send_share))  # fmt: skip
    for phase in phases:
        checks.extend(_latency_checks(slo, phase))
        share = phase.get("online_share")
        if slo.online_share_tolerance is not None and share is not None:
            m = share["measured"]
            ok = m is not None and abs(m - share["target"]) <= slo.online_share_tolerance
            checks.append(_check(f"{phase['name']}.online_share", share["target"], m, ok))
    if slo.growth_tolerance is not None and growth is not None:
        m = growth["measured"]
        ok = m is not None and abs(m - growth["target"]) <= slo.growth_tolerance
        checks.append(_check(f"growth.{growth['period']}", growth["target"], m, ok))
    failed = [c["name"] for c in checks if not c["passed"]]
    return {"passed": not failed, "failed": failed, "checks": checks}
