"""A worker's share of the transaction record and the Done message naming it, apart from play."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from loadtests.measure.oprecord import OpRecord
from loadtests.measure.records import RECORD_PART
from loadtests.measure.timeline import timeline_wire
from loadtests.play.driver import Driver
from loadtests.workers.mirror import read_counters
from loadtests.workers.workplan import Done, ReplicaCount, WorkPlan
from services.config.runconfig import RunConfigError

__all__ = ["close_record", "done_message", "open_record"]

log = logging.getLogger("ndx.worker")


def open_record(
    plan: WorkPlan, worker: str, record_key: bytes | None, runs_dir: Path
) -> OpRecord | None:
    """Its share of the run's transaction record when it holds the run's audit key: beside
    the coordinator's when it reaches the run's folder (a local worker), else in its own
    runs folder, named in the report with its host."""
    if record_key is None:
        return None
    here = Path(plan.record_dir) if plan.record_dir else None
    if here is None or not here.is_dir():
        here = runs_dir.resolve() / plan.run_id
        here.mkdir(parents=True, exist_ok=True)
    try:
        plan.config.check_key(record_key)
    except RunConfigError as exc:
        log.warning("no transaction record: %s", exc)
        return None
    return OpRecord(here / f"{RECORD_PART}{worker}.parquet", record_key)


async def close_record(driver: Driver, plan: WorkPlan) -> str:
    """Closes its record part; its path when it is not beside the coordinator's, else ""."""
    record = driver.hops.transactions
    if record is None:
        return ""
    await asyncio.to_thread(record.close)
    return "" if str(record.path.parent) == plan.record_dir else str(record.path)


def done_message(
    plan: WorkPlan,
    worker: str,
    driver: Driver,
    record_part: str,
    cpu_seconds: float,
    wall_s: float,
    peak_cores: float,
) -> Done:
    return Done(
        record_part=record_part,
        run_id=plan.run_id,
        worker=worker,
        timeline=timeline_wire(driver.timeline),
        wall0=driver.stage.wall0,
        cpu_seconds=cpu_seconds,
        wall_s=wall_s,
        peak_cores=peak_cores,
        replicas=[
            ReplicaCount(ministry=m, held=len(r), hits=r.hits, misses=r.misses)
            for m, r in sorted(driver.replicas.items())
        ],
        counters=read_counters(),
        hops=driver.hops.encode(),
    )
