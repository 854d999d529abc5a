"""The operational-monitoring record: one parquet row per transaction, written off the hot path.

Rows gather in plain column lists; every BATCH rows the columns are handed to one writer thread
(pyarrow releases the GIL while it encodes and compresses), and `close` writes the rest. The
citizen appears only as its keyed hash (citizenref), never as the id.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from services.shared.citizenref import citizen_ref
from services.shared.messages import Request
from services.shared.pending import Result
from services.shared.stamps import split

BATCH = 50_000
FILE_NAME = "transactions.parquet"
_I64 = (
    "intended_us",
    "sent_us",
    "request_append_ms",
    "registry_received_us",
    "registry_answered_us",
    "reply_append_ms",
    "received_us",
    "latency_us",
    "generator_us",
    "request_us",
    "registry_us",
    "reply_us",
)
_TEXT = ("agency", "flow", "responder", "phase", "outcome", "citizen_ref")
SCHEMA = pa.schema(
    [pa.field(n, pa.int64()) for n in _I64]
    + [pa.field(n, pa.dictionary(pa.int32(), pa.string())) for n in _TEXT[:-1]]
    + [pa.field("citizen_ref", pa.string()), pa.field("attempts", pa.int16())]
)
Column = list[int | None] | list[str | None]


class OpRecord:
    """Buffers transactions and writes runs/<id>/transactions.parquet in batches."""

    def __init__(self, path: Path, key: bytes, batch: int = BATCH) -> None:
        self.path, self.key, self.batch = path, key, batch
        self.rows = 0
        self._columns: dict[str, list[object]] = self._empty()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="oprecord")
        self._writer: pq.ParquetWriter | None = None
        self._pending: list[Future[None]] = []

    @staticmethod
    def _empty() -> dict[str, list[object]]:
        return {name: [] for name in SCHEMA.names}

    def add(self, agency: str, flow: str, phase: str, request: Request, result: Result) -> None:
        """One transaction: a few list appends here; encoding happens in the writer thread."""
        c, s = self._columns, result.stamps
        hops = split(s) if s is not None else None
        answer = result.answer
        latency = round(result.latency_s * 1e6) if s is None else s.latency_us
        for name, value in (
            ("intended_us", s and s.intended_us),
            ("sent_us", s and s.sent_us),
            ("request_append_ms", s and s.request_append_ms),
            ("registry_received_us", s and s.registry_received_us),
            ("registry_answered_us", s and s.registry_answered_us),
            ("reply_append_ms", s and s.reply_append_ms),
            ("received_us", s and s.received_us),
            ("latency_us", latency),
            ("generator_us", hops and hops.generator_us),
            ("request_us", hops and hops.request_us),
            ("registry_us", hops and hops.registry_us),
            ("reply_us", hops and hops.reply_us),
            ("agency", agency),
            ("flow", flow),
            ("phase", phase),
            ("outcome", result.outcome),
            ("responder", answer.responder if answer is not None else None),
            ("citizen_ref", citizen_ref(request.citizen_id, self.key)),
            ("attempts", result.attempts),
        ):
            c[name].append(value)
        self.rows += 1
        if len(c["latency_us"]) >= self.batch:
            self._hand_over()

    def _hand_over(self) -> None:
        columns, self._columns = self._columns, self._empty()
        self._pending.append(self._pool.submit(self._write, columns))

    def _write(self, columns: dict[str, list[object]]) -> None:
        table = pa.Table.from_pydict(columns, schema=SCHEMA)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.path, SCHEMA, compression="zstd")
        self._writer.write_table(table)

    def close(self) -> Path:
        """Write what is left and finish the file (an empty run still gets a valid file)."""
        if self._columns["latency_us"] or (self._writer is None and not self._pending):
            self._hand_over()
        for done in self._pending:
            done.result()
        self._pool.shutdown()
        if self._writer is not None:
            self._writer.close()
        return self.path
