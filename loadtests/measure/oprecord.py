"""The operational-monitoring record: one parquet row per transaction, written off the hot path.

Rows gather in plain column lists; every BATCH rows the columns are handed to one writer thread
(pyarrow releases the GIL while it encodes and compresses), and `close` writes the rest. The
citizen appears only as its keyed hash (citizenref), never as the id. Each row says what the
ledger expected (at the version of the citizen's record the answer was decided on, which
`citizen_version` gives) and whether the answer was `correct`; a death is a row too.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from services.requester import Result
from services.wire import split
from services.world import citizen_ref

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
_TEXT = ("agency", "flow", "responder", "phase", "outcome", "expected", "citizen_ref")
SCHEMA = pa.schema(
    [pa.field(n, pa.int64()) for n in _I64]
    + [pa.field(n, pa.dictionary(pa.int32(), pa.string())) for n in _TEXT[:-1]]
    + [pa.field("citizen_ref", pa.string()), pa.field("attempts", pa.int16())]
    + [pa.field("correct", pa.bool_()), pa.field("citizen_version", pa.int32())]
)
Column = list[int | None] | list[str | None]


class AboutCitizen(Protocol):
    """A request or a civil event: what a row needs of it is whom it is about."""

    @property
    def citizen_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Judgement:
    """What the ledger made of one transaction: the answer expected at the version of the
    citizen's record it was decided on (Expected.describe), and whether it came back so; None
    when nothing came back to judge (a timeout)."""

    expected: str
    correct: bool | None


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

    def add(
        self,
        agency: str,
        flow: str,
        phase: str,
        about: AboutCitizen,
        result: Result,
        judged: Judgement | None = None,
    ) -> None:
        """One transaction: a few list appends here; encoding happens in the writer thread."""
        c, s = self._columns, result.stamps
        hops = split(s) if s is not None else None
        answer = result.answer
        latency = round(result.latency_s * 1e6) if s is None else s.latency_us
        version = None if answer is None or answer.citizen_version < 0 else answer.citizen_version
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
            ("citizen_ref", citizen_ref(about.citizen_id, self.key)),
            ("attempts", result.attempts),
            ("expected", None if judged is None else judged.expected),
            ("correct", None if judged is None else judged.correct),
            ("citizen_version", version),
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
