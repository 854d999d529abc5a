"""Goodput, not just answers: a run whose registry is too slow for its load (on the in-memory
twin, through the real driver, players, requester clients and timeline) times out, retries and
gets its answers late. Its report, opened in headless Chromium, draws goodput, late answers and
retries as separate lines, the registry's consumer lag and slots busy on the same time axis, and
each period's answered/s in the table is the chart's mean goodput for that period."""

from __future__ import annotations

import asyncio
import contextlib
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loadtests.measure.ledger import PhaseLedger, totals
from loadtests.measure.timeline import Timeline
from loadtests.pages.html import write_html
from loadtests.play.driver import Driver
from loadtests.report import RunReport, SloVerdict
from loadtests.scenario.agencies import played_agencies
from loadtests.scenario.model import Scenario
from loadtests.scenario.parts import Errors, Mix, Period
from services.kafka.twin import MemoryBus
from services.wire.codec import Catalogue, Codec
from services.wire.topics import topics_for
from services.world.population import Population
from tests.support.browser import SCREENS, open_page
from tests.support.inproc import DEMO_TOPOLOGY, SEED, demo_topology, run_config
from tests.support.pagegoodput import (
    GOODPUT,
    LATE,
    RETRIES,
    chart_goodput,
    chart_late,
    drawn,
    periods_table,
    platform_late,
)
from tests.support.slowregistry import SlowRegistry

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / ".cache" / "screenshots"
SERVICE_S = 0.02  # one connection: 50 verifications a second at most
PERIODS = [
    Period(name="calm", duration_s=3, rate_per_s=20),
    Period(name="overload", duration_s=4, rate_per_s=150),
]
ROUNDING = 0.06  # the table gives to 0.1 a rate the report rounds to 0.01


async def sample(registry: SlowRegistry, timeline: Timeline) -> None:
    """The registry's gauges into the timeline, as the coordinator's scrapes put them."""
    while True:
        timeline.sample(registry.pressure())
        await asyncio.sleep(0.25)


async def overloaded_run() -> tuple[RunReport, list[PhaseLedger], Driver]:
    scenario = Scenario(
        name="overload",
        topology=str(DEMO_TOPOLOGY),
        timeout_s=0.5,
        retries=1,
        periods=PERIODS,
        mix=Mix(),
        errors=Errors(),
    )
    bus = MemoryBus()
    await bus.ensure_topics(topics_for(demo_topology().agencies()))
    codec = Codec(Catalogue())
    agencies = played_agencies(scenario, demo_topology(), Path("overload.yaml"))
    config = run_config(scenario, "overload")
    driver = Driver(scenario, agencies, lambda _who: bus, codec, Population(SEED), config)
    registry = SlowRegistry(bus, codec, SERVICE_S, Population(SEED))
    serving = asyncio.create_task(registry.run())
    await driver.start()
    driver.start_clock()
    st, timeline = driver.stage, driver.timeline
    timeline.wall0 = st.wall0
    sampling = asyncio.create_task(sample(registry, timeline))
    ledgers = []
    try:
        start = st.t0
        for index, period in driver.scheduler.periods():
            # Each period starts on a whole second after the last one drained, a second apart,
            # as the coordinator starts them (a period's seconds are its own).
            ledger = await driver.play_period(index, period, start)
            ledgers.append(ledger)
            start = st.t0 + math.ceil(ledger.ended - st.t0) + 1
    finally:
        for task in (sampling, serving):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await driver.stop()
    phases = [x.summary() for x in ledgers]
    report = RunReport(
        run_id="20250101-000300-overload",
        scenario="overload",
        scenario_file="overload.yaml",
        topology="demo",
        started_at=datetime(2025, 1, 1, tzinfo=UTC),
        elapsed_s=sum(p.duration_s for p in phases),
        bootstrap="memory",
        scale=1.0,
        time_compression=1.0,
        phases=phases,
        totals=totals(ledgers),
        late_answers=sum(x.late_answers for x in ledgers),
        slo=SloVerdict(passed=False, failed=["timeout_share"], checks=[]),
        timeline=timeline.as_report(),
    )
    return report, ledgers, driver


@pytest.mark.timeout(180)
async def test_an_overloaded_run_draws_goodput_late_answers_and_retries_apart_as_its_table(
    tmp_path: Path,
) -> None:
    report, ledgers, driver = await overloaded_run()
    calm, overload = ledgers
    assert all((x.lost, x.incorrect) == (0, 0) for x in ledgers), [x.summary() for x in ledgers]
    assert (calm.timed_out, calm.late_answers) == (0, 0), calm.summary()
    assert overload.timed_out > 0 and overload.late_answers > 0 and overload.retries > 0
    assert overload.answered / 4 < 0.5 * 150  # it answers in time well below what it is offered
    # Second by second, the timeline counts what the ledgers count, period by period.
    for ledger in ledgers:
        seconds = [s for s in report.timeline if s.phase == ledger.name]
        assert sum(s.answered for s in seconds) == ledger.answered
        assert sum(s.timed_out for s in seconds) == ledger.timed_out
        assert sum(s.offered for s in seconds) == ledger.sent
    assert sum(s.retries for s in report.timeline) == sum(x.retries for x in ledgers)
    assert sum(s.late_answers for s in report.timeline) == driver.late_answers
    lags = [s.consumer_lag for s in report.timeline if s.phase == "overload"]
    assert max(x or 0.0 for x in lags) > 20, lags  # its queue waited on the bus
    assert any(s.slots_busy == 1.0 for s in report.timeline)

    html = await asyncio.to_thread(write_html, tmp_path / report.run_id, report)
    size = SCREENS[0]
    with open_page(html, size) as page:
        goodput = drawn(page, "chart-over-time", GOODPUT)
        late = drawn(page, "chart-over-time", LATE)
        retries = drawn(page, "chart-over-time", RETRIES)
        assert sum(y or 0 for y in goodput.y) == report.totals.answered
        assert sum(y or 0 for y in late.y) == report.late_answers > 0
        assert sum(y or 0 for y in retries.y) == sum(p.retries for p in report.phases) > 0
        lag = drawn(page, "chart-over-time", "consumer lag (records)")
        busy = drawn(page, "chart-over-time", "slots busy")
        assert lag.x == goodput.x == busy.x  # one time axis
        assert max(y or 0 for y in lag.y) > 20
        table = periods_table(page)
        chart = chart_goodput(page, "chart-over-time", report.phases)
        for period, (segment, line) in chart.items():
            assert table[period] == pytest.approx(segment, abs=ROUNDING), (period, table)
            assert line == pytest.approx(segment, rel=1e-9), period
        assert table["overload"] < 0.5 * 150
        assert platform_late(page) == chart_late(page, "chart-over-time", report.phases)
        assert not page.fit().overflows
        shot = page.screenshot(SHOTS / f"overloaded-report-{size[0]}x{size[1]}.png")
        print(f"screenshot: {shot}")
        assert page.console_errors() == []
        assert [u for u in page.requests() if not u.startswith("data:")] == [html.as_uri()]
