"""A live terminal view of a run: period, rate, p99 and the ledger, refreshed twice a second."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.table import Table

from loadtests.engine.workerreport import FULL_CORE, LATE_LIMIT
from loadtests.measure import latency_summary

if TYPE_CHECKING:
    from loadtests.workers import Coordinator


def generator_status(c: Coordinator) -> str:
    """For the live view: is the generator keeping up (its busiest worker, late sends)?"""
    live = [w for w in c.workers if w.progress is not None and not w.dead]
    if not live:
        return f"{len(c.workers)} worker(s) joining"
    busiest = max(live, key=lambda w: w.progress.cpu_cores if w.progress else 0.0)
    cores = busiest.progress.cpu_cores if busiest.progress else 0.0
    sent = sum(w.progress.counts.sent for w in live if w.progress)
    late = sum(w.progress.counts.late_sends for w in live if w.progress)
    share = late / sent if sent else 0.0
    limit = "the generator limits" if cores >= FULL_CORE or share > LATE_LIMIT else "it keeps up"
    dead = sum(w.dead for w in c.workers)
    return (
        f"{len(live)} worker(s){f', {dead} dead' if dead else ''}; busiest "
        f"{busiest.name} {cores:.2f} cores; late sends {share:.1%}: {limit}"
    )


def registry_status(c: Coordinator) -> str:
    """For the live view: the registry's pressure at its last scrape (consumer lag, slots)."""
    p = c.timeline.last_pressure()
    if p is None:
        return ""
    parts = []
    if p.consumer_lag is not None:
        parts.append(f"consumer lag {p.consumer_lag:,.0f} records")
    if p.slots_busy is not None:
        of = f" of {p.slots:,.0f}" if p.slots else ""
        parts.append(f"slots busy {p.slots_busy:,.0f}{of}")
    return "registry: " + ", ".join(parts) if parts else ""


class LiveView:
    def __init__(self, coordinator: Coordinator, console: Console) -> None:
        self.coordinator = coordinator
        self.live = Live(
            self.render(), console=console, refresh_per_second=2, get_renderable=self.render
        )

    def render(self) -> Table:
        table = Table(show_header=True, header_style="bold")
        for col in (
            "period",
            "target/s",
            "now answered/s",
            "now p99 ms",
            "sent",
            "answered",
            "timed out",
            "lost so far",
            "incorrect",
            "late sends",
        ):
            table.add_column(col, justify="right")
        registry = registry_status(self.coordinator)
        table.caption = generator_status(self.coordinator) + (f"\n{registry}" if registry else "")
        last = self.coordinator.timeline.last_complete()
        ledgers = self.coordinator.ledgers()
        for ledger in ledgers:
            current = ledger is ledgers[-1]
            now_rate = str(last.answered) if current and last else ""
            now_p99 = f"{latency_summary(last.latency).p99:.1f}" if current and last else ""
            in_flight = ledger.sent - ledger.answered - ledger.timed_out - ledger.dead_lettered
            table.add_row(
                ledger.name,
                f"{ledger.target_rate:.0f}",
                now_rate,
                now_p99,
                str(ledger.sent),
                str(ledger.answered),
                str(ledger.timed_out),
                f"{in_flight} in flight",
                str(ledger.incorrect),
                str(ledger.late_sends),
            )
        return table

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.live.__exit__(et, ev, tb)
