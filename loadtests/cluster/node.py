"""One Kafka node as a JVM on its own directory: formatted once, launched, signalled, explained."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from loadtests.cluster.jars import (
    AGENT_JAR,
    DEFAULT_CACHE,
    DEPLOY_DIR,
    BrokerError,
    ensure_jars,
    last_lines,
    read_text,
)
from loadtests.cluster.pids import PID_FILE, PROPERTIES, running_pid, signal_group, write_pid
from loadtests.cluster.probe import HOST, metadata_brokers, port_in_use
from loadtests.cluster.props import ClusterLayout, format_args, node_settings, render_properties
from loadtests.cluster.secured import SCRAM, ClientSecurity
from services.security import write_private

GC_FLAGS = ("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35")


class KafkaNode:
    """A combined broker+controller of `layout`; its data stays in node_dir across restarts.

    It signals only the JVM it started itself; a JVM another launcher left running on node_dir
    (found through the pid file) makes launch() refuse, never gets stopped from here.
    """

    def __init__(
        self,
        layout: ClusterLayout,
        node_id: int,
        node_dir: Path,
        heap: str,
        jmx_exporter_port: int | None = None,
        cache: Path = DEFAULT_CACHE,
        admin: ClientSecurity | None = None,
    ) -> None:
        self.layout, self.node_id, self.address = layout, node_id, layout.node(node_id)
        self.node_dir, self.cache = node_dir.resolve(), cache.resolve()
        self.heap, self.jmx_exporter_port = heap, jmx_exporter_port
        self.admin = admin  # None: plaintext listeners; else SASL and ACLs, this the super user
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def launch(self) -> None:
        """Start the JVM and return at once; serves() tells when it is ready."""
        if self.is_running():
            return
        cmd = self.command()
        with (self.node_dir / "broker.out").open("ab") as out:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
            )
        write_pid(self.node_dir, self._proc.pid)

    def command(self) -> list[str]:
        """Everything short of launching (checks, jars, properties, storage): the JVM's argv."""
        if (java := shutil.which("java")) is None:
            raise BrokerError("Java ('java', 17 or newer) is not on PATH; the broker needs it.")
        if (other := running_pid(self.node_dir)) is not None:
            raise BrokerError(f"a broker (pid {other}) already runs on {self.node_dir}")
        ports = [self.address.port, self.address.controller_port, self.jmx_exporter_port]
        if busy := [p for p in ports if p is not None and port_in_use(p)]:
            raise BrokerError(f"port(s) {busy} on {HOST} already in use; free them or pick others")
        libs, props = ensure_jars(self.cache), self.write_properties()
        if not (self.node_dir / "kraft" / "meta.properties").exists():
            self._format(java, libs, props)
        return [java, *self._jvm_flags(), "-cp", f"{libs}/*", "kafka.Kafka", str(props)]

    def serves(self, brokers: int = 1) -> bool:
        """True once this node answers metadata listing `brokers` or more; raises if it died."""
        if self._proc is None:
            raise BrokerError(f"node {self.node_id} is not running")
        if (code := self._proc.poll()) is not None:
            self._forget()
            raise BrokerError(f"node {self.node_id} JVM exited ({code})\n{self.tail()}")
        login, tls = None, None
        if self.admin is not None:
            login = (SCRAM, self.admin.principal, self.admin.password.get_secret_value())
            tls = self.admin.ca_file if self.admin.protocol == "SASL_SSL" else None
        return metadata_brokers(self.address.port, login=login, ca_file=tls) >= brokers

    def terminate(self) -> None:
        """Ask for a controlled shutdown (SIGTERM) without waiting for it."""
        if self._proc is not None and self._proc.poll() is None:
            signal_group(self._proc.pid, signal.SIGTERM)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the JVM's process group (controlled shutdown), SIGKILL it after timeout."""
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL the JVM at once: no controlled shutdown, as when a machine dies."""
        self._end(signal.SIGKILL, None)

    def write_properties(self) -> Path:
        template = (DEPLOY_DIR / "server.properties").read_text()
        settings = node_settings(self.layout, self.node_id, self.node_dir / "kraft", self.admin)
        return write_private(self.node_dir / PROPERTIES, render_properties(template, settings))

    def tail(self) -> str:
        files = [self.node_dir / name for name in ("broker.out", "server.log")]
        return "\n".join(
            f"--- {f.name} ---\n{last_lines(read_text(f))}" for f in files if read_text(f).strip()
        )

    def _end(self, sig: signal.Signals, timeout: float | None) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            signal_group(proc.pid, sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        self._forget()

    def _forget(self) -> None:
        if self._proc is not None:
            (self.node_dir / PID_FILE).unlink(missing_ok=True)
        self._proc = None

    def _format(self, java: str, libs: Path, props: Path) -> None:
        tool = ["kafka.tools.StorageTool", *format_args(self.layout, self.admin), "-c", str(props)]
        # A one-shot tool: compiled by C1 alone it starts and ends in less time and CPU.
        quick = ["-XX:TieredStopAtLevel=1", "-Xshare:auto"]
        quiet = ["-Xmx256m", *quick, "-Dkafka.log.level=warn", *self._log_flags()]  # clean log
        # The arguments may hold the admin's password: a private @file keeps it off `ps`.
        argfile = write_private(self.node_dir / "format.args", "\n".join(map(_quoted, tool)) + "\n")
        cmd = [java, *quiet, "-cp", f"{libs}/*", f"@{argfile}"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        finally:
            argfile.unlink(missing_ok=True)
        if done.returncode != 0:
            output = last_lines(done.stdout + done.stderr)
            raise BrokerError(f"formatting {self.node_dir / 'kraft'} failed:\n{output}")

    def _log_flags(self) -> list[str]:
        config = DEPLOY_DIR / "log4j2.yaml"
        return [f"-Dlog4j2.configurationFile={config}", f"-Dkafka.logs.dir={self.node_dir}"]

    def _jvm_flags(self) -> list[str]:
        flags = [f"-Xms{self.heap}", f"-Xmx{self.heap}", *GC_FLAGS, *self._log_flags()]
        if self.jmx_exporter_port is not None:
            rules = DEPLOY_DIR / "jmx-exporter.yaml"
            agent = self.cache / AGENT_JAR
            flags.append(f"-javaagent:{agent}={HOST}:{self.jmx_exporter_port}:{rules}")
        # KAFKA_OPTS as Kafka's own launch scripts read it: extra JVM options, given last to win.
        return [*flags, "-Djava.awt.headless=true", *shlex.split(os.environ.get("KAFKA_OPTS", ""))]


def _quoted(arg: str) -> str:
    """One argument of a java @file, quoted so spaces and quotes survive."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def await_serving(nodes: Sequence[KafkaNode], brokers: int, timeout: float) -> None:
    """Wait until every node serves metadata listing `brokers` brokers; raise naming the laggard."""
    deadline = time.monotonic() + timeout
    waiting = list(nodes)
    while waiting:
        waiting = [node for node in waiting if not node.serves(brokers)]
        if waiting and time.monotonic() > deadline:
            node = waiting[0]
            raise BrokerError(
                f"{HOST}:{node.address.port} (node {node.node_id}) does not list {brokers} "
                f"broker(s) after {timeout:g}s\n{node.tail()}"
            )
        if waiting:
            time.sleep(0.2)
