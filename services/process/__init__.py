"""A service as a process: entry plumbing, run context, event loop, metrics and readiness."""

from __future__ import annotations

from services.process.app import EXIT_INPUT_ERROR, run_service, setup_logging
from services.process.background import cancel
from services.process.clock import EVENT_LOOP, MONOTONIC, Clock, wait_event
from services.process.context import ServiceContext, service_context
from services.process.readiness import Readiness, watching

__all__ = [
    "EVENT_LOOP",
    "EXIT_INPUT_ERROR",
    "MONOTONIC",
    "Clock",
    "Readiness",
    "ServiceContext",
    "cancel",
    "run_service",
    "service_context",
    "setup_logging",
    "wait_event",
    "watching",
]
