"""The `ndxsim` command's parts: shared options and errors, the stack commands and the studies."""

from __future__ import annotations

from loadtests.cli.common import (
    DEMO,
    DESIGN_OPTION,
    INPUT_ERRORS,
    LOCAL_WORKERS_OPTION,
    WORKERS_OPTION,
    app,
    fail,
    serve_driver_metrics,
    wide_console,
    writable_dir,
)

__all__ = [
    "DEMO",
    "DESIGN_OPTION",
    "INPUT_ERRORS",
    "LOCAL_WORKERS_OPTION",
    "WORKERS_OPTION",
    "app",
    "fail",
    "serve_driver_metrics",
    "wide_console",
    "writable_dir",
]
