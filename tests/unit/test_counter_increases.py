"""Growth is read as reset-aware increases: a restarted service's counters are not lost."""

from __future__ import annotations

from loadtests.measure.counters import Increases, Series, parse
from loadtests.measure.growth import Snapshot, snapshot

TX: Series = (
    "ndx_sharing_transactions_total",
    (("flow", "verify"), ("observer", "provider"), ("outcome", "MATCH")),
)
TX_REQUESTER: Series = (TX[0], (("flow", "verify"), ("observer", "requester")))
ONLINE: Series = ("ndx_dossiers_total", (("channel", "ONLINE"), ("province", "province.001")))


def played(sequence: list[tuple[float, float | None]], series: Series = TX) -> float:
    """Feed one instance's (value, process start) scrapes; returns the accumulated increase."""
    inc = Increases()
    for value, started in sequence:
        inc.add("9101", {series: value}, started)
    return inc.total.get(series, 0.0)


def test_a_steady_counter_increases_by_its_last_minus_its_first_value() -> None:
    assert played([(100, 1.0), (130, 1.0), (180, 1.0), (180, 1.0)]) == 80


def test_a_drop_is_a_restart_and_the_new_value_is_all_increase() -> None:
    # 100 -> 250 (+150), restart, 40 (+40), 90 (+50): 240 in all, where last - first gives -10
    assert played([(100, None), (250, None), (40, None), (90, None)]) == 240


def test_a_new_start_time_is_a_restart_even_when_the_counter_has_overtaken_its_old_value() -> None:
    # Restarted between scrapes and counted 300 since: a drop-only rule would see +50.
    assert played([(100, 1.0), (250, 1.0), (300, 2.0), (320, 2.0)]) == 150 + 300 + 20


def test_counting_since_the_first_scrape_only_and_a_series_born_later_counts_from_zero() -> None:
    inc = Increases()
    inc.add("9101", {TX: 500}, 1.0)  # counted before the run: the baseline
    inc.add("9101", {TX: 510, TX_REQUESTER: 7}, 1.0)
    assert inc.total == {TX: 10, TX_REQUESTER: 7}


def test_instances_are_summed_and_a_missed_scrape_loses_nothing() -> None:
    inc = Increases()
    inc.add("9101", {TX: 10}, 1.0)
    inc.add("9111", {TX: 0}, 5.0)
    inc.add("9101", {TX: 25}, 1.0)
    # 9111 did not answer this round (restarting); its next scrape shows a new process.
    inc.add("9101", {TX: 40}, 1.0)
    inc.add("9111", {TX: 12}, 9.0)
    assert inc.total == {TX: 30 + 12}


def test_parse_reads_the_wanted_samples_and_the_process_start_time() -> None:
    text = (
        "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1234.5\n"
        "# TYPE ndx_sharing_transactions counter\n"
        'ndx_sharing_transactions_total{flow="verify",observer="provider",outcome="MATCH"} 7.0\n'
        "# TYPE ndx_other counter\nndx_other_total 3.0\n"
    )
    samples, started = parse(text, frozenset({"ndx_sharing_transactions_total"}))
    assert (samples, started) == ({TX: 7.0}, 1234.5)


def test_a_snapshot_counts_provider_transactions_dead_letters_and_dossiers_by_channel() -> None:
    dead: Series = ("ndx_dead_letters_total", (("reason", "undecodable"), ("service", "registry")))
    total = {TX: 40.0, TX_REQUESTER: 99.0, dead: 3.0, ONLINE: 5.0}
    assert snapshot(total) == Snapshot(40.0, 3.0, {"ONLINE": 5.0}, {"verify": 40.0})
