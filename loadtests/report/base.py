"""The report's building blocks: strict parts, parts that leave absent fields out, latency."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

SCHEMA_VERSION = 1  # raise it when a field changes meaning or goes; added fields get defaults


class ReportError(ValueError):
    """A report file that cannot be read back; the message names the file and the field."""


class Part(BaseModel):
    """A part of the report; an unknown key on reading is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Sparse(Part):
    """A part whose absent (None) fields are left out of the JSON rather than written as null."""

    @model_serializer(mode="wrap")
    def _leave_out_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        return {k: v for k, v in dumped.items() if v is not None}


class Latency(Part):
    """Percentiles of one HdrHistogram in milliseconds; never averaged across histograms."""

    p50: float
    p95: float
    p99: float
    max: float
