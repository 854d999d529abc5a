"""What a run plays on: the platform for one run, and the supervised local stack of `make up`."""

from __future__ import annotations

from loadtests.stack.platform import RunStack
from loadtests.stack.runtopics import (
    MAX_SHARES,
    WORK_PLANS,
    WORK_RESULTS,
    WORK_SHARES,
    WORKERS_GROUP_PREFIX,
    stack_topics,
)
from loadtests.stack.serviceproc import StackError, free_port, scrape
from loadtests.stack.state import StateError

__all__ = [
    "MAX_SHARES",
    "WORKERS_GROUP_PREFIX",
    "WORK_PLANS",
    "WORK_RESULTS",
    "WORK_SHARES",
    "RunStack",
    "StackError",
    "StateError",
    "free_port",
    "scrape",
    "stack_topics",
]
