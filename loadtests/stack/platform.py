"""Starts what a run needs (the design's cluster, unless one is given, and services); stops it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import time
from pathlib import Path

from loadtests.cluster import LocalCluster, apply_quotas, exporter_urls, remove_quotas
from loadtests.cluster.provision import provision, write_process_files
from loadtests.report import BrokerOutage
from loadtests.stack.outage import observe_outage
from loadtests.stack.runtopics import stack_topics
from loadtests.stack.serviceproc import ServiceProcess, StackError, free_port
from services.config import REPO_ROOT, Design, Quota, RunConfig
from services.kafka.bus import ClientTuning, KafkaTransport
from services.registry import State, announce
from services.security import DRIVER, ClientSecurity, Credentials
from services.world import load_topology

ANNOUNCE_LIMIT_S = 15.0
LANE = "NDX_LANE"  # a registry instance's lane (services/config/settings.py)


class RunStack:
    """One run's platform: the design's local cluster (or the cluster given), its users and
    ACLs when secured, its topics, and the registry instances and monitor, all given the run's
    configuration file."""

    def __init__(
        self,
        run_dir: Path,
        config: RunConfig,
        config_path: Path,
        bootstrap: str | None,
        credentials: Credentials | None = None,
        bulk: bool = False,
    ) -> None:
        self.run_dir, self.config, self.config_path = run_dir, config, config_path
        self.bulk = bulk  # the run plays bulk jobs: the tax authority's reconciler runs too
        self.bootstrap = bootstrap
        self.cluster: LocalCluster | None = None
        self.credentials = credentials  # a secured cluster's given identities, or provisioned
        self.services: list[ServiceProcess] = []
        self.files: dict[str, Path] = {}  # each process kind's credentials file, when secured

    def security(self, principal: str) -> ClientSecurity | None:
        """How the driver's side authenticates as `principal`; None on a plaintext cluster."""
        if self.credentials is None:
            return None
        try:
            return self.credentials.security_for(principal)
        except KeyError as exc:
            raise StackError(f"no credentials for {principal}: {exc.args[0]}") from None

    @property
    def design(self) -> Design:
        return self.config.design

    def start(self) -> str:
        bootstrap = self.bootstrap or self._start_cluster()
        self.bootstrap = bootstrap
        files = self.files = self._prepare(bootstrap)
        self._announce("running")  # a registry started by hand for another run stands aside
        env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "NDX_RUN_CONFIG": str(self.config_path)}
        for name, kind, extra in self._members():
            log = self.run_dir / "logs" / f"{name}.log"
            own = {"NDX_CREDENTIALS": str(files[kind])} if kind in files else {}
            own.update(extra)
            svc = ServiceProcess(name, f"services.{kind}", {**env, **own}, free_port(), log)
            svc.start()
            self.services.append(svc)
        for svc in self.services:
            svc.wait_ready(svc.kind)
        return bootstrap

    def _quotas(self) -> dict[str, Quota]:
        """The design's client quotas, applied only when the run plays bulk jobs."""
        return dict(self.design.bulk.quotas) if self.bulk else {}

    def exporter_urls(self) -> list[str]:
        """The brokers' exporter pages holding their quota metrics; [] when none were started."""
        return exporter_urls(self.cluster) if self.cluster is not None else []

    def _members(self) -> list[tuple[str, str, dict[str, str]]]:
        """Each service process of the run: name, kind and its own settings."""
        instances = self.design.registry.instances
        members: list[tuple[str, str, dict[str, str]]] = [
            (f"registry-{i}", "registry", {}) for i in range(1, instances + 1)
        ]
        if self.bulk:
            bulk = self.design.bulk
            if bulk.lane == "separate":
                lane = {LANE: "bulk"}
                members += [
                    (f"registry-bulk-{i}", "registry", lane) for i in range(1, bulk.instances + 1)
                ]
            members.append(("tax", "tax", {}))
        return [*members, ("monitor", "monitor", {})]

    def _start_cluster(self) -> str:
        brokers = self.design.cluster.brokers
        if brokers == "existing":
            raise StackError(
                f"design {self.design.name}: cluster.brokers is `existing` but "
                "KAFKA_BOOTSTRAP_SERVERS is not set"
            )
        # Two runs of one scenario may start in the same second: the pid keeps them apart.
        data = REPO_ROOT / ".cache" / "brokers" / f"{self.run_dir.name}-{os.getpid()}"
        secured = self.design.security.enabled
        self.cluster = LocalCluster(
            data,
            brokers,
            self.design.cluster.heap,
            secured=secured,
            tls=secured and self.design.security.tls,
            # the brokers' quota metrics, read through their exporters, show the throttle
            jmx_exporter_port=free_port() if self._quotas() else None,
        )
        return self.cluster.start()

    def _prepare(self, bootstrap: str) -> dict[str, Path]:
        """Topics (and, on a secured cluster, users and ACLs) made by the cluster's admin; each
        process gets a file of its own identities."""
        topology = load_topology(Path(self.config.topology_file))
        admin = self.cluster.admin if self.cluster is not None else None
        files: dict[str, Path] = {}
        if admin is not None:
            made = provision(bootstrap, admin, topology)
            self.credentials = made.credentials
            files = write_process_files(self.run_dir / "secrets", made.credentials, topology)
        if quotas := self._quotas():
            if admin is None:
                raise StackError(
                    f"design {self.design.name}: bulk.quotas need the run's own secured "
                    "cluster (its admin applies them)"
                )
            apply_quotas(bootstrap, admin, quotas)
        maker = KafkaTransport(bootstrap, ClientTuning.of(self.design), admin)
        if admin is not None or self.credentials is None:  # a given secured cluster: its admin's
            asyncio.run(
                maker.ensure_topics(
                    stack_topics(topology.agencies(), self.design.topics, topology.reconcilers())
                )
            )
        return files

    def restart_service(
        self, name: str, kill: bool, down_s: float, env: dict[str, str] | None = None
    ) -> float:
        """Stop (or kill) one service, wait, start it again; returns seconds until it is ready."""
        svc = next(s for s in self.services if s.name == name)
        started = time.monotonic()
        if kill:
            svc.kill()
        else:
            svc.stop()
        time.sleep(down_s)
        svc.env = {**svc.env, **(env or {})}
        svc.start()
        svc.wait_ready(svc.kind)
        return time.monotonic() - started

    def _local(self, action: str) -> LocalCluster:
        if self.cluster is None:
            raise StackError(f"{action} needs the local cluster (KAFKA_BOOTSTRAP_SERVERS is set)")
        return self.cluster

    def restart_broker(self, down_s: float, node: int = 1, kill: bool = False) -> BrokerOutage:
        """Stop (or kill) one broker for down_s and start it on its data again, watching the
        services: their readiness, log lines and CPU while it is away."""
        cluster = self._local("restart_broker")
        if node not in cluster.nodes:
            raise StackError(f"no broker {node}: the cluster has {sorted(cluster.nodes)}")
        away = functools.partial(cluster.kill if kill else cluster.stop_node, node)
        back = functools.partial(cluster.start_node, node)
        return observe_outage(self.services, away, back, down_s)

    def pids(self) -> dict[str, list[int]]:
        """The processes of each part of the platform, for CPU accounting."""
        parts: dict[str, list[int]] = {}
        for svc in self.services:
            if svc.pid is not None:
                parts.setdefault(svc.kind, []).append(svc.pid)
        if self.cluster is not None:
            nodes = [self.cluster.pid(n) for n in self.cluster.nodes]
            parts["broker"] = [pid for pid in nodes if pid is not None]
        return parts

    def ports(self, kind: str) -> list[int]:
        """Metrics ports of the running services of one kind (registry, monitor, tax); the
        registry's are its interactive instances', a separate bulk lane's are apart."""
        return [
            s.metrics_port
            for s in self.services
            if s.module == f"services.{kind}" and s.env.get(LANE) != "bulk"
        ]

    def bulk_lane_ports(self) -> list[int]:
        """Metrics ports of a separate bulk lane's registry instances."""
        return [s.metrics_port for s in self.services if s.env.get(LANE) == "bulk"]

    def _announce(self, state: State) -> None:
        driver = KafkaTransport(
            self.bootstrap or "", ClientTuning.of(self.design), self.security(DRIVER)
        )
        asyncio.run(asyncio.wait_for(announce(driver, self.config, state), ANNOUNCE_LIMIT_S))

    def stop(self) -> dict[str, int | None]:
        if self.bootstrap is not None and self.services:
            with contextlib.suppress(Exception):  # best effort: the run is over either way
                self._announce("ended")
        codes = {svc.name: svc.stop() for svc in self.services}
        quotas = self._quotas()
        if quotas and self.cluster is not None and self.cluster.admin is not None:
            with contextlib.suppress(Exception):  # best effort, as above
                remove_quotas(self.bootstrap or "", self.cluster.admin, quotas)
        if self.cluster is not None:
            self.cluster.stop()
            shutil.rmtree(self.cluster.data_dir, ignore_errors=True)
        return codes

    async def __aenter__(self) -> str:
        try:
            return await asyncio.to_thread(self.start)
        except BaseException:
            await asyncio.to_thread(self.stop)
            raise

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)
