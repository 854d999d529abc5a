"""A broker away for a while: every service says it is not ready, stays quiet and idle, on
either client library (librdkafka's own log lines pass through the same once-per-cause limit)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.config import Library
from services.config.settings import REPO_ROOT
from tests.support.libraries import design_on, each_library
from tests.support.processes import reaped, run_stack, service, start_ready

DOWN_S = 6.0  # twice the readiness probe's longest backoff: every service is seen not ready
# Each kind of warning is shown once per 30 s (services.process.lograte) and about six kinds come
# from aiokafka while it cannot connect: a service writes about a dozen lines while down, where
# it used to write thousands a second.
MAX_LINES_DOWN = 20
MAX_LINES_IN_ALL = 40  # from the stop until ready again, the broker's restart included
MAX_CPU_SHARE = 0.2  # of one core, per service, while it waits


@each_library
async def test_an_idle_stack_without_its_broker_reports_not_ready_logs_little_and_idles(
    tmp_path: Path, library: Library
) -> None:
    run_dir = REPO_ROOT / ".cache" / "brokers" / f"outage-{tmp_path.name}"
    stack = run_stack(run_dir, library=library)
    async with stack as bootstrap:
        secrets = run_dir / "secrets"  # the run's cluster is secured: each its own identities
        hosts = [
            service(
                kind,
                kind,
                bootstrap,
                run_dir / "logs",
                NDX_RATE_PER_AGENCY="0",
                NDX_CREDENTIALS=str(secrets / f"{kind}.credentials.yaml"),
                NDX_DESIGN=str(design_on(library, tmp_path)),
            )
            for kind in ("ministry", "province")
        ]
        async with reaped(*hosts):
            for host in hosts:
                await start_ready(host, host.kind)
            stack.services.extend(hosts)
            outage = await asyncio.to_thread(stack.restart_broker, DOWN_S)
            print(f"broker outage: {outage.model_dump()}")
            for name in [s.name for s in stack.services]:
                assert outage.not_ready_after_s[name] is not None, (name, outage)
                assert outage.ready_again_s[name] is not None, (name, outage)
                assert outage.log_lines_down[name] < MAX_LINES_DOWN, (name, outage)
                assert outage.log_lines[name] < MAX_LINES_IN_ALL, (name, outage)
                assert outage.cpu_share_down[name] < MAX_CPU_SHARE, (name, outage)
            stack.services = [s for s in stack.services if s not in hosts]
