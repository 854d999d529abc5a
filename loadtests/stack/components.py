"""What `make up` runs: each component's command, environment, ports and readiness probe."""

from __future__ import annotations

import os
import shutil
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from loadtests.cluster import metadata_brokers
from loadtests.cluster.localbroker import LocalBroker
from loadtests.stack.upsecure import admin_login, process_file
from services.config import REPO_ROOT
from services.world import TAX_AUTHORITY, load_topology

STATE = REPO_ROOT / ".cache" / "stack"
LOGS = STATE / "logs"
BROKER_DATA = STATE / "broker-data"
BROKER_PORT, CONTROLLER_PORT, JMX_PORT = 9092, 9093, 9108
PROMETHEUS_PORT = 9090
SUPERVISOR_PORT = 9106
PROMETHEUS_CONFIG = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"
CONSOLES = REPO_ROOT / "deploy" / "prometheus" / "consoles"
CONSOLE_LIBRARIES = REPO_ROOT / "deploy" / "prometheus" / "console_libraries"
CONSOLE_PAGE = "/consoles/ndx.html"
LOCAL_ONLY_JOBS = ("supervisor",)  # scraped by the local stack's Prometheus, not Docker's
Probe = Literal["broker", "service", "prometheus"]


@dataclass(frozen=True)
class Member:
    name: str
    module: str
    metrics_port: int


MEMBERS = (
    Member("registry", "services.registry", 9101),
    Member("ministry", "services.ministry", 9102),
    Member("province", "services.province", 9103),
    Member("monitor", "services.monitor", 9105),
    # the tax authority's reconciler (Directive 18): idle until platforms share sellers
    Member("tax", "services.tax", 9107),
)


@dataclass(frozen=True)
class Component:
    """One supervised process; `command` may prepare files first (the broker formats storage)."""

    name: str
    probe: Probe
    probe_port: int
    command: Callable[[], list[str]]
    ports: tuple[int, ...]
    urls: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> Path:
        return LOGS / f"{self.name}.log"


def ready(probe: Probe, name: str, port: int) -> bool:
    """True when the component serves: broker answers Metadata, services report ready."""
    if probe == "broker":
        login, ca_file = admin_login(BROKER_DATA)
        return metadata_brokers(port, login=login, ca_file=ca_file) > 0
    path = "/-/ready" if probe == "prometheus" else "/metrics"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2.0) as resp:
            body = resp.read().decode(errors="replace")
            status = int(resp.status)
    except (OSError, ValueError):
        return False
    if probe == "prometheus":
        return status == 200
    return f'ndx_service_ready{{service="{name}"}} 1.0' in body


def agencies_of(kind: str, listed: str) -> str:
    """NDX_AGENCIES split by kind: each requester process hosts the listed agencies of its kind."""
    return ",".join(a.strip() for a in listed.split(",") if a.strip().startswith(kind + "."))


def _service(member: Member, bootstrap: str, topology: Path, secured: bool) -> Component:
    """One service; on the local (secured) broker with its own credentials file."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "NDX_TOPOLOGY": str(topology),
        "NDX_METRICS_PORT": str(member.metrics_port),
        "NDX_INSTANCE": member.name,
    }
    if secured:
        env["NDX_CREDENTIALS"] = str(process_file(BROKER_DATA, member.name))
    if member.name in ("ministry", "province") and os.environ.get("NDX_AGENCIES"):
        env["NDX_AGENCIES"] = agencies_of(member.name, os.environ["NDX_AGENCIES"])
    port = member.metrics_port
    return Component(
        member.name,
        "service",
        port,
        lambda: [sys.executable, "-m", member.module],
        (port,),
        (f"http://127.0.0.1:{port}/metrics",),
        env,
    )


def members(topology: Path) -> tuple[Member, ...]:
    """The services `make up` runs over this topology: the tax authority's reconciler only
    where the topology has it (it refuses to start without it)."""
    reconciles = load_topology(topology).reconciles(TAX_AUTHORITY)
    return tuple(m for m in MEMBERS if m.name != "tax" or reconciles)


def broker() -> LocalBroker:
    """SASL/SCRAM clients only, deny by default; the supervisor provisions it once it serves."""
    return LocalBroker(BROKER_DATA, BROKER_PORT, CONTROLLER_PORT, JMX_PORT, secured=True)


def components(bootstrap: str | None, topology: Path) -> list[Component]:
    """In start order: the broker (unless a cluster is given), the services, Prometheus."""
    out = []
    secured = bootstrap is None  # the local broker; a given cluster's users bring their own file
    if bootstrap is None:
        local = broker()
        bootstrap = local.bootstrap
        ports = (BROKER_PORT, CONTROLLER_PORT, JMX_PORT)
        urls = (bootstrap, f"http://127.0.0.1:{JMX_PORT}/metrics")
        out.append(Component("broker", "broker", BROKER_PORT, local.command, ports, urls))
    out += [_service(m, bootstrap, topology, secured) for m in members(topology)]
    if (binary := shutil.which("prometheus")) is not None:
        cmd = [
            binary,
            f"--config.file={PROMETHEUS_CONFIG}",
            f"--storage.tsdb.path={STATE / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
            f"--web.console.templates={CONSOLES}",
            f"--web.console.libraries={CONSOLE_LIBRARIES}",
        ]
        url = f"http://127.0.0.1:{PROMETHEUS_PORT}"
        out.append(
            Component(
                "prometheus",
                "prometheus",
                PROMETHEUS_PORT,
                lambda: cmd,
                (PROMETHEUS_PORT,),
                (url, url + CONSOLE_PAGE),
            )
        )
    return out
