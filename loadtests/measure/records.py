"""The run's transaction record from its workers' parts: one parquet file, as with one driver."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from loadtests.measure.oprecord import FILE_NAME

RECORD_PART = "transactions-"  # a worker's part: transactions-<worker>.parquet


def combine_records(run_dir: Path) -> Path | None:
    """Concatenate the workers' parts into runs/<id>/transactions.parquet and remove them."""
    parts = sorted(run_dir.glob(f"{RECORD_PART}*.parquet"))
    if not parts:
        return None
    tables = [pq.read_table(p) for p in parts]
    target = run_dir / FILE_NAME
    pq.write_table(pa.concat_tables(tables), target)
    for p in parts:
        p.unlink()
    return target
