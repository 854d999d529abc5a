"""Service processes for broker-tier tests: started, watched through /metrics, always reaped."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from loadtests.stack.platform import RunStack
from loadtests.stack.serviceproc import ServiceProcess, free_port, scrape, tail
from services.config import Clients, Library
from services.config.runconfig import write_run_config
from services.config.settings import REPO_ROOT, load_settings
from services.process.context import standalone_config
from services.security.auditkey import audit_key

DEMO_TOPOLOGY = REPO_ROOT / "loadtests" / "topologies" / "demo.yaml"
READY_TIMEOUT_S = 90.0


def service(kind: str, name: str, bootstrap: str, log_dir: Path, **env: str) -> ServiceProcess:
    """A `services.<kind>` process on the demo topology with its own metrics port."""
    settings = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "NDX_TOPOLOGY": str(DEMO_TOPOLOGY),
        **env,
    }
    return ServiceProcess(name, f"services.{kind}", settings, free_port(), log_dir / f"{name}.log")


async def start_ready(svc: ServiceProcess, ready_label: str) -> float:
    """Start the process and wait until it reports ready; returns the seconds it took."""
    started = time.monotonic()
    await asyncio.to_thread(svc.start)
    await asyncio.to_thread(svc.wait_ready, ready_label, READY_TIMEOUT_S)
    return time.monotonic() - started


async def terminate(svc: ServiceProcess, sig: signal.Signals, limit_s: float) -> tuple[int, float]:
    """Send `sig` and wait up to `limit_s` for the exit; returns (exit code, seconds)."""
    assert svc.proc is not None
    started = time.monotonic()
    svc.proc.send_signal(sig)
    try:
        code = await asyncio.to_thread(svc.proc.wait, limit_s)
    except subprocess.TimeoutExpired:
        svc.proc.kill()
        await asyncio.to_thread(svc.proc.wait)
        raise AssertionError(
            f"{svc.name} still running {limit_s:.0f}s after {sig.name}:\n{tail(svc.log_path)}"
        ) from None
    return code, time.monotonic() - started


@contextlib.asynccontextmanager
async def reaped(*services: ServiceProcess) -> AsyncIterator[None]:
    """Whatever happens in the block, no service process outlives it."""
    try:
        yield
    finally:
        for svc in services:
            if svc.proc is not None and svc.proc.poll() is None:
                await asyncio.to_thread(svc.stop, 20.0)


def sample(port: int, name: str, labels: Mapping[str, str]) -> float:
    """Sum of the samples on a service's /metrics that carry `labels`; 0 before any is emitted."""
    return sum(
        float(s.value)
        for family in text_string_to_metric_families(scrape(port))
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def run_stack(
    run_dir: Path,
    registries: int = 1,
    bootstrap: str | None = None,
    library: Library = "aiokafka",
) -> RunStack:
    """A run's platform on the settings' topology (the demo's) and the baseline design, its
    clients on `library`, as `ndxsim run` builds it."""
    settings = load_settings()
    config = standalone_config(settings, audit_key(settings))
    design = config.design.model_copy(
        update={
            "registry": config.design.registry.model_copy(update={"instances": registries}),
            "clients": Clients(library=library),
        }
    )
    config = config.model_copy(update={"run_id": run_dir.name, "design": design})
    path = write_run_config(config, run_dir / "run-config.json")
    return RunStack(run_dir, config, path, bootstrap)
