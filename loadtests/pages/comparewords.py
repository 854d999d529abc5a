"""The comparison in plain words: which design holds the scenario, and by how much."""

from __future__ import annotations

from loadtests.report import DesignResult

__all__ = ["summarize"]


def _change(now: float, before: float) -> str:
    return "unchanged" if not before else f"{(now - before) / before:+.0%}"


def _one(r: DesignResult) -> str:
    t, lat = r.run.totals, r.run.totals.latency_ms
    if r.passed:
        verdict = "holds the scenario"
    else:
        failed = r.run.slo.failed
        verdict = f"fails it ({', '.join(failed[:3])}{' …' if len(failed) > 3 else ''})"
    words = (
        f"{r.design} {verdict}: {t.throughput_tps:,.0f} answered/s, p50 {lat.p50:,.1f} ms, "
        f"p99 {lat.p99:,.1f} ms, {t.timed_out:,} timed out, {t.lost:,} lost, "
        f"{t.incorrect:,} incorrect"
    )
    if r.run.cache is not None:
        words += (
            f"; its ministries answered {r.run.cache.hit_ratio:.0%} of their "
            f"verifications from their own replicas"
        )
    if r.run.cpu is not None:
        words += f"; {r.run.cpu.total_ms_per_transaction:.2f} ms of CPU per transaction"
    if r.capacity is not None and r.capacity.knee is not None:
        words += f"; its knee is {r.capacity.knee:,.0f} requests/s"
    limit = r.run.limited_by
    if limit is not None:
        words += (
            f"; limited by the {limit.words}" if limit.part else f"; limited by the {limit.side}"
        )
    return words + "."


def _against(r: DesignResult, base: DesignResult) -> str:
    p99, base_p99 = r.run.totals.latency_ms.p99, base.run.totals.latency_ms.p99
    words = f"Against {base.design}, {r.design} moves p99 {_change(p99, base_p99)}"
    verify, base_verify = r.registry_answers("verify"), base.registry_answers("verify")
    if round(verify) != round(base_verify):
        words += (
            f" and the registry answered {verify:,.0f} verifications instead of "
            f"{base_verify:,.0f} ({_change(verify, base_verify)}, "
            "by its own counters)"
        )
    knee, base_knee = (x.capacity.knee if x.capacity else None for x in (r, base))
    if knee and base_knee:
        words += (
            f"; its knee is {_change(knee, base_knee)} ({knee:,.0f} against {base_knee:,.0f}/s)"
        )
    return words + "."


def summarize(results: list[DesignResult]) -> list[str]:
    """One sentence per design, one per design against the first, then the overall verdict."""
    lines = [_one(r) for r in results]
    lines += [_against(r, results[0]) for r in results[1:]]
    holding = [r for r in results if r.passed]
    if not holding:
        lines.append("No design holds the scenario.")
    else:
        best = min(holding, key=lambda r: r.run.totals.latency_ms.p99)
        who = (
            "Every design holds"
            if len(holding) == len(results)
            else (
                "Only "
                + ", ".join(r.design for r in holding)
                + (" holds" if len(holding) == 1 else " hold")
            )
        )
        lines.append(
            f"{who} the scenario; the lowest p99 among them is {best.design}'s "
            f"({best.run.totals.latency_ms.p99:,.1f} ms)."
        )
        knees = [r for r in holding if r.capacity is not None and r.capacity.knee]
        if knees:
            top = max(knees, key=lambda r: (r.capacity.knee or 0.0) if r.capacity else 0.0)
            assert top.capacity is not None and top.capacity.knee is not None
            lines.append(
                f"The most headroom is {top.design}'s: its SLOs hold up to "
                f"{top.capacity.knee:,.0f} requests/s."
            )
    return lines
