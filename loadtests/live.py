"""A live terminal view of a run: period, rate, p99 and the ledger, refreshed twice a second."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.table import Table

from loadtests.ledger import latency_summary

if TYPE_CHECKING:
    from loadtests.coordinator import Coordinator


class LiveView:
    def __init__(self, driver: Coordinator, console: Console) -> None:
        self.driver = driver
        self.live = Live(
            self.render(), console=console, refresh_per_second=2, get_renderable=self.render
        )

    def render(self) -> Table:
        table = Table(show_header=True, header_style="bold")
        for col in (
            "period",
            "target/s",
            "now tx/s",
            "now p99 ms",
            "sent",
            "answered",
            "timed out",
            "lost so far",
            "incorrect",
            "late sends",
        ):
            table.add_column(col, justify="right")
        last = self.driver.timeline.last_complete()
        ledgers = self.driver.ledgers()
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
