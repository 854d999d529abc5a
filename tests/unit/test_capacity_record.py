"""A capacity search's transaction record holds every step's rows, not only the last step's, each
row judged; each step keeps the examples of its incorrect answers, typed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from loadtests.engine.capacity import _step_summary, join_step_records, keep_step_record
from loadtests.measure.ledger import PhaseLedger, latency_summary, new_histogram
from loadtests.measure.oprecord import FILE_NAME, Judgement, OpRecord
from loadtests.report import IncorrectExample, RunReport, SloVerdict, Totals
from services.requester.pending import Result
from services.wire.messages import CivilStatusRegistered, Outcome

KEY = b"k" * 32


def play_step(run_dir: Path, phase: str, rows: int) -> None:
    """What one step's play leaves in the run folder: its own transactions.parquet."""
    record = OpRecord(run_dir / FILE_NAME, KEY)
    for i in range(rows):
        death = CivilStatusRegistered(
            f"{phase}-{i}", "001090000001", "DEATH", "ministry.justice", 1
        )
        record.add("ministry.justice", "death", phase, death, Result("DIED", None, 0.01))
    record.close()


def test_every_steps_rows_are_kept_in_the_order_played_each_named_by_its_step(
    tmp_path: Path,
) -> None:
    for n, (phase, rows) in enumerate([("warm-up", 3), ("100/s", 5), ("150/s", 7)], start=1):
        play_step(tmp_path, phase, rows)
        keep_step_record(tmp_path, n)
    joined = join_step_records(tmp_path)
    assert joined == tmp_path / FILE_NAME
    phases = pq.read_table(joined, columns=["phase"]).column("phase").to_pylist()
    assert phases == ["warm-up"] * 3 + ["100/s"] * 5 + ["150/s"] * 7
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILE_NAME]


def test_a_row_says_what_was_expected_and_whether_it_came_back_so(tmp_path: Path) -> None:
    record = OpRecord(tmp_path / FILE_NAME, KEY)
    death = CivilStatusRegistered("e-1", "001090000001", "DEATH", "ministry.justice", 1)
    record.add("a", "death", "p", death, Result(Outcome.DIED, None, 0.1), Judgement("DIED", True))
    timed_out = Result(Outcome.TIMEOUT, None, 5.0)
    record.add("a", "death", "p", death, timed_out, Judgement("DIED", None))
    rows = pq.read_table(record.close()).to_pylist()
    assert [(r["expected"], r["correct"], r["citizen_version"]) for r in rows] == [
        ("DIED", True, None),
        ("DIED", None, None),
    ]


def test_a_capacity_step_keeps_the_examples_of_its_incorrect_answers() -> None:
    ledger = PhaseLedger("3684/s", 3684.0)
    ledger.sent = 2
    example = IncorrectExample(
        request_id="run:1:2a",
        agency="ministry.vss",
        flow="verify",
        citizen_ref="0" * 24,
        expected="DECEASED",
        why="version 1, after a death seen on the change feed: DECEASED",
        got="MATCH",
        citizen_version=1,
    )
    ledger.record("verify", Outcome.MATCH, True, 0.01)
    ledger.record("verify", Outcome.MATCH, False, 0.01, example)
    phase = ledger.summary()
    report = RunReport(
        run_id="r",
        scenario="s",
        scenario_file="s.yaml",
        topology="t",
        started_at=datetime.now(UTC),
        elapsed_s=1.0,
        bootstrap="b",
        scale=1.0,
        time_compression=1.0,
        phases=[phase],
        totals=Totals(
            sent=2,
            answered=2,
            timed_out=0,
            dead_lettered=0,
            incorrect=1,
            late_sends=0,
            lost=0,
            latency_ms=latency_summary(new_histogram()),
            throughput_tps=2.0,
        ),
        late_answers=0,
        slo=SloVerdict(passed=True, failed=[], checks=[]),
    )
    step = _step_summary(3684.0, report)
    assert step.incorrect == 1 and step.incorrect_examples == [example]
    assert RunReport.model_validate_json(report.model_dump_json()).phases[0] == phase


def test_a_report_written_before_examples_were_typed_still_loads() -> None:
    old = IncorrectExample.model_validate("verify: expected MATCH () {}, got DECEASED [] {}")
    assert old.why.startswith("verify: expected MATCH") and old.request_id == ""
