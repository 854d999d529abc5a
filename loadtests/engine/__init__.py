"""The run engine: one scenario run from file to report, and the studies made of several runs."""

from __future__ import annotations

from loadtests.engine.capacity import Search, search
from loadtests.engine.resolve import BASELINE, RunFiles, read_inputs, with_design
from loadtests.engine.run import play_run

__all__ = ["BASELINE", "RunFiles", "Search", "play_run", "read_inputs", "search", "with_design"]
