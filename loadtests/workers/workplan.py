"""The workers' control plane: typed JSON messages on the cluster's `ndx.run.*` topics.

The coordinator writes the plan and its commands to `ndx.run.plans`; one record per share goes to
its own partition of `ndx.run.shares`, which Kafka's group protocol hands out to the run's group
`ndx.workers.<run>`; workers write what they measured to `ndx.run.results`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from loadtests.measure import Counts, EncodedHops, PhaseLedger, SecondWire
from loadtests.scenario import PlayedAgency, Scenario
from loadtests.stack import WORKERS_GROUP_PREFIX
from loadtests.workers.mirror import CounterSample
from services.config import RunConfig

log = logging.getLogger("ndx.workers")
INSIST_S = 180.0


async def insist(send: Callable[[], Awaitable[asyncio.Future[Any]]]) -> None:
    """A control message is sent until the cluster has it: a broker restart delays it, never
    loses it (the receiver's own bound decides what a long silence means)."""
    deadline = time.monotonic() + INSIST_S
    while True:
        try:
            await (await send())
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("control message not written yet (%s); trying again", exc)
            await asyncio.sleep(1.0)


SESSION_TIMEOUT_S = 10.0  # a worker that stops heartbeating leaves the group after this


def workers_group(run_id: str) -> str:
    return WORKERS_GROUP_PREFIX + run_id


def worker_client(name: str) -> str:
    """The client id a worker's group membership carries: how the coordinator knows it there."""
    return f"ndxsim.worker.{name}"


class Share(BaseModel):
    index: int
    agencies: list[str]


def split(agencies: Sequence[PlayedAgency], n: int) -> list[Share]:
    """n disjoint shares of similar weight: heaviest agency first to the lightest share."""
    n = max(1, min(n, len(agencies)))
    loads, members = [0.0] * n, [list[str]() for _ in range(n)]
    for a in sorted(agencies, key=lambda a: -a.weight):
        i = loads.index(min(loads))
        loads[i] += a.weight
        members[i].append(a.agency)
    return [Share(index=i, agencies=sorted(m)) for i, m in enumerate(members)]


class WorkPlan(BaseModel):
    """What every worker needs to play its share, secrets left out (each worker has its own)."""

    kind: Literal["plan"] = "plan"
    run_id: str
    config: RunConfig
    scenario: Scenario
    agencies: list[PlayedAgency]
    shares: list[Share]
    announced_at: float  # wall clock; a worker joins only a recent plan
    record_dir: str = ""  # where a worker that can reach it writes its transaction record


class Command(BaseModel):
    """claim: take the shares held now and get ready; start: play period `period` at wall time
    `at`; pause/resume: a slow agency; end: the run is over, report and leave."""

    kind: Literal["claim", "start", "pause", "resume", "end"]
    run_id: str
    period: int = -1
    at: float = 0.0
    agency: str = ""


PlanMessage = TypeAdapter(Annotated[WorkPlan | Command, Field(discriminator="kind")])


class ShareRecord(BaseModel):
    run_id: str
    index: int


class Hello(BaseModel):
    """A worker in the group: the shares it holds now, or (`ready`) has claimed and will play."""

    kind: Literal["hello"] = "hello"
    run_id: str
    worker: str
    host: str
    pid: int
    shares: list[int]
    ready: bool = False


class Progress(BaseModel):
    """Every second: the current period's counts so far; missing progress means a dead worker."""

    kind: Literal["progress"] = "progress"
    run_id: str
    worker: str
    period: int
    counts: Counts = Field(default_factory=Counts)  # the period's ledger's counters so far
    cpu_cores: float = 0.0  # this process's CPU over the last second, in cores
    counters: list[CounterSample] = []  # its requester-side counters, for the driver's /metrics
    taken_over: list[int] = []  # shares reassigned to it after a claim: reported, not replayed


class PeriodDone(BaseModel):
    kind: Literal["period"] = "period"
    run_id: str
    worker: str
    period: int
    ledger: PhaseLedger  # its times count from the run's common start
    heard_ahead_s: float | None = None  # how long before the period's start it heard the command


class ReplicaCount(BaseModel):
    ministry: str
    held: int
    hits: int
    misses: int


class Done(BaseModel):
    """The worker's last word: its timeline, CPU and the counts only it knows."""

    kind: Literal["done"] = "done"
    run_id: str
    worker: str
    timeline: list[SecondWire]
    cpu_seconds: float
    wall_s: float
    peak_cores: float
    replicas: list[ReplicaCount] = []
    taken_over: list[int] = []
    counters: list[CounterSample] = []
    hops: EncodedHops | None = None
    record_part: str = ""  # its transaction record on its own machine, when not the run's folder
    wall0: float = 0.0  # the wall clock at its timeline's second 0 (the run's common start)


class Tick(BaseModel):
    """The coordinator's own echo: while it reads its ticks back, the cluster is up, and a
    worker's silence is the worker's."""

    kind: Literal["tick"] = "tick"
    run_id: str
    worker: str = ""


WorkerMessage = TypeAdapter(
    Annotated[Hello | Progress | PeriodDone | Done | Tick, Field(discriminator="kind")]
)
