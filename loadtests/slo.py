"""SLO verdicts for a run: the scenario's targets plus the ledger's own invariants."""

from __future__ import annotations

from typing import Any

from loadtests.scenario import Slo


def _check(name: str, target: float, measured: float, passed: bool) -> dict[str, Any]:
    return {"name": name, "target": target, "measured": measured, "passed": passed}


def verdict(slo: Slo, phases: list[dict[str, Any]], total: dict[str, Any]) -> dict[str, Any]:
    """Every check names what it measured; the run passes only if all pass."""
    checks = [
        _check("lost", 0, total["lost"], total["lost"] == 0),
        _check("incorrect", 0, total["incorrect"], total["incorrect"] == 0),
    ]
    sent = max(total["sent"], 1)
    timeout_share = total["timed_out"] / sent
    checks.append(
        _check(
            "timeout_share",
            slo.max_timeout_share,
            round(timeout_share, 6),
            timeout_share <= slo.max_timeout_share,
        )
    )
    if slo.max_late_send_share is not None:
        late = total["late_sends"] / sent
        checks.append(
            _check(
                "late_send_share",
                slo.max_late_send_share,
                round(late, 6),
                late <= slo.max_late_send_share,
            )
        )
    for phase in phases:
        for pct, target in (("p99", slo.p99_ms), ("p50", slo.p50_ms)):
            if target is not None:
                measured = phase["latency_ms"][pct]
                checks.append(
                    _check(f"{phase['name']}.{pct}_ms", target, measured, measured <= target)
                )
    failed = [c["name"] for c in checks if not c["passed"]]
    return {"passed": not failed, "failed": failed, "checks": checks}
