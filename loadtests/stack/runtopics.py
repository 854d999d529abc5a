"""The topics a stack makes for the runs played on it: the workers' control plane (JSON), the
coordinator's plans and commands, one partition per share handed out by the workers' consumer
group, and what the workers measured.

They live in the load driver's name spaces (`ndx.run.*` topics, `ndx.workers.*` groups), which
the ACL table grants the driver. Declared here, below the workers, because the stack (a run's
platform, `make up`'s supervisor) creates them beside the services' own as the cluster's admin.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.config import Topics
from services.wire import DRIVER_GROUP_PREFIX, RUN_TOPIC_PREFIX, TopicSpec, topics_for

__all__ = [
    "MAX_SHARES",
    "RUN_TOPICS",
    "WORKERS_GROUP_PREFIX",
    "WORK_PLANS",
    "WORK_RESULTS",
    "WORK_SHARES",
    "stack_topics",
]

MAX_SHARES = 32
DAY_MS = str(86_400_000)
WORK_PLANS = TopicSpec(RUN_TOPIC_PREFIX + "plans", None, 1, {"retention.ms": DAY_MS})
WORK_SHARES = TopicSpec(RUN_TOPIC_PREFIX + "shares", None, MAX_SHARES, {"retention.ms": DAY_MS})
WORK_RESULTS = TopicSpec(RUN_TOPIC_PREFIX + "results", None, 1, {"retention.ms": DAY_MS})
RUN_TOPICS: tuple[TopicSpec, ...] = (WORK_PLANS, WORK_SHARES, WORK_RESULTS)
WORKERS_GROUP_PREFIX = DRIVER_GROUP_PREFIX  # one group per run: ndx.workers.<run>


def stack_topics(
    agencies: list[str], layout: Topics | None = None, bulk_by: Sequence[str] = ()
) -> list[TopicSpec]:
    """Every topic a stack that plays runs over these agencies needs: the services' and the
    workers' control plane."""
    return [*topics_for(agencies, layout, bulk_by), *RUN_TOPICS]
