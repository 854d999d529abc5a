"""Runs a real single-node KRaft Kafka broker with plain `java`, so ndxsim needs no Docker."""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil

from loadtests.procs import alive, identify, read_pidfile, record_of, terminate, write_pidfile

REPO_ROOT = Path(__file__).resolve().parents[1]
DEPLOY_DIR = REPO_ROOT / "deploy" / "kafka"
DEFAULT_CACHE = REPO_ROOT / ".cache" / "kafka"
DEFAULT_DATA_DIR = REPO_ROOT / ".cache" / "kafka-data"
KAFKA_VERSION = "4.1.1"
HOST = "127.0.0.1"
PID_FILE = "broker.pid"
AGENT_JAR = Path("agent") / "jmx_prometheus_javaagent.jar"
MVN_GOALS = ("dependency:copy-dependencies@libs", "dependency:copy-dependencies@agent")
GC_FLAGS = ("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35")


class BrokerError(RuntimeError):
    """The local broker could not be fetched, started or stopped; the message says why."""


def ensure_jars(cache: Path = DEFAULT_CACHE) -> Path:
    """Fetch the pinned Kafka jars with Maven unless already there; return the libs dir."""
    cache = cache.resolve()
    libs, marker, pom = cache / "libs", cache / "fetched.txt", DEPLOY_DIR / "pom.xml"
    stamp = f"kafka {KAFKA_VERSION} pom {hashlib.sha256(pom.read_bytes()).hexdigest()[:16]}\n"
    if _read(marker) == stamp:
        return libs
    if (mvn := shutil.which("mvn")) is None:
        raise BrokerError("Maven ('mvn') is not on PATH; it fetches the Kafka jars. Install it.")
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent callers fetch once
        if _read(marker) == stamp:
            return libs
        for stale in (libs, cache / "agent"):
            shutil.rmtree(stale, ignore_errors=True)
        cmd = [mvn, "-q", "-B", "-f", str(pom), *MVN_GOALS, f"-Dcache.dir={cache}"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
            output, failed = done.stdout + done.stderr, done.returncode != 0
        except subprocess.TimeoutExpired as exc:
            output, failed = f"timed out after {exc.timeout:.0f}s", True
        if failed or not list(libs.glob("kafka_2.13-*.jar")):
            raise BrokerError(f"fetching Kafka jars failed: {' '.join(cmd)}\n{_last(output)}")
        marker.write_text(stamp)
    return libs


def port_in_use(port: int, host: str = HOST) -> bool:
    """True if something already listens on host:port (Kafka binds with SO_REUSEADDR too)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


class LocalBroker:
    """One combined broker+controller JVM; its data stays in data_dir across restarts."""

    def __init__(
        self,
        data_dir: Path,
        port: int = 9092,
        controller_port: int = 9093,
        jmx_exporter_port: int | None = None,
        heap: str = "1g",
        cache: Path = DEFAULT_CACHE,
    ) -> None:
        self.data_dir, self.cache = data_dir.resolve(), cache.resolve()
        self.port, self.controller_port = port, controller_port
        self.jmx_exporter_port, self.heap = jmx_exporter_port, heap
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 90.0) -> str:
        """Start the JVM; return the bootstrap address once the broker serves clients."""
        if self.is_running():
            return self.bootstrap
        cmd = self.command()
        with (self.data_dir / "broker.out").open("ab") as out:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
            )
        write_pid(self.data_dir, self._proc.pid)
        deadline = time.monotonic() + timeout
        while not serves_clients(self.port):
            if self._proc.poll() is not None:
                code, self._proc = self._proc.returncode, None
                (self.data_dir / PID_FILE).unlink(missing_ok=True)
                raise BrokerError(f"broker JVM exited ({code}) while starting\n{self._tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"{self.bootstrap} not ready after {timeout:g}s\n{self._tail()}")
            time.sleep(0.2)
        return self.bootstrap

    def command(self) -> list[str]:
        """Everything short of launching: checks, jars, configuration, storage; the JVM's argv."""
        if (java := shutil.which("java")) is None:
            raise BrokerError("Java ('java', 17 or newer) is not on PATH; the broker needs it.")
        if (other := running_pid(self.data_dir)) is not None:
            raise BrokerError(f"a broker (pid {other}) already runs on {self.data_dir}")
        ports = [self.port, self.controller_port, self.jmx_exporter_port]
        if busy := [p for p in ports if p is not None and port_in_use(p)]:
            raise BrokerError(f"port(s) {busy} on {HOST} already in use; free them or pick others")
        libs, props = ensure_jars(self.cache), self._render_properties()
        if not (self.data_dir / "kraft" / "meta.properties").exists():
            self._format_storage(java, libs, props)
        return [java, *self._jvm_flags(), "-cp", f"{libs}/*", "kafka.Kafka", str(props)]

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the JVM's process group (controlled shutdown), SIGKILL it after timeout."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc is not None:
            (self.data_dir / PID_FILE).unlink(missing_ok=True)

    def restart(self, timeout: float = 90.0) -> str:
        self.stop()
        return self.start(timeout)

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _render_properties(self) -> Path:
        text = (DEPLOY_DIR / "server.properties").read_text()
        values = {"port": self.port, "controller_port": self.controller_port}
        for key, value in {**values, "log_dir": self.data_dir / "kraft"}.items():
            text = text.replace("{" + key + "}", str(value))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (target := self.data_dir / "server.properties").write_text(text)
        return target

    def _format_storage(self, java: str, libs: Path, props: Path) -> None:
        tool = ["kafka.tools.StorageTool", "format", "--standalone", "-t", _cluster_id()]
        quiet = ["-Xmx256m", "-Dkafka.log.level=warn", *self._log_flags()]  # keep server.log clean
        cmd = [java, *quiet, "-cp", f"{libs}/*", *tool, "-c", str(props)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            output = _last(done.stdout + done.stderr)
            raise BrokerError(f"formatting {self.data_dir / 'kraft'} failed:\n{output}")

    def _log_flags(self) -> list[str]:
        config = DEPLOY_DIR / "log4j2.yaml"
        return [f"-Dlog4j2.configurationFile={config}", f"-Dkafka.logs.dir={self.data_dir}"]

    def _jvm_flags(self) -> list[str]:
        flags = [f"-Xms{self.heap}", f"-Xmx{self.heap}", *GC_FLAGS, *self._log_flags()]
        if self.jmx_exporter_port is not None:
            rules = DEPLOY_DIR / "jmx-exporter.yaml"
            agent = self.cache / AGENT_JAR
            flags.append(f"-javaagent:{agent}={HOST}:{self.jmx_exporter_port}:{rules}")
        return [*flags, "-Djava.awt.headless=true"]

    def _tail(self) -> str:
        files = [self.data_dir / name for name in ("broker.out", "server.log")]
        return "\n".join(f"--- {f.name} ---\n{_last(_read(f))}" for f in files if _read(f).strip())


def write_pid(data_dir: Path, pid: int) -> None:
    """Record the JVM with its start time and command line, so a reused pid is never trusted."""
    write_pidfile(data_dir / PID_FILE, record_of(pid))


def running_pid(data_dir: Path) -> int | None:
    """The pid of the live broker JVM recorded in data_dir, ignoring stale or reused pids."""
    proc = running_process(data_dir)
    return proc.pid if proc is not None else None


def running_process(data_dir: Path) -> psutil.Process | None:
    """The recorded JVM if it is the very process recorded and a broker of this data_dir."""
    record = read_pidfile(data_dir / PID_FILE)
    props = str(data_dir.resolve() / "server.properties")
    if record is None or "kafka.Kafka" not in record.cmdline or props not in record.cmdline:
        return None
    return identify(record)


def stop_from_pidfile(data_dir: Path, timeout: float = 30.0) -> bool:
    """Stop the broker another process started on data_dir; False if none was running."""
    proc = running_process(data_dir)
    if proc is not None:
        terminate(proc, timeout)
        if alive(proc):
            raise BrokerError(f"broker pid {proc.pid} survived SIGKILL")
    (data_dir / PID_FILE).unlink(missing_ok=True)
    return proc is not None


def serves_clients(port: int) -> bool:
    """A Metadata (v1) answer listing a broker: it is registered and unfenced, not just bound."""
    request = struct.pack(">hhih", 3, 1, 1, 6) + b"ndxsim" + struct.pack(">i", 0)  # no topics
    try:
        with socket.create_connection((HOST, port), timeout=2.0) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            with sock.makefile("rb") as stream:
                (size,) = struct.unpack(">i", stream.read(4))
                correlation_id, brokers = struct.unpack_from(">ii", stream.read(size))
    except (OSError, struct.error):
        return False
    return bool(correlation_id == 1 and brokers > 0)


def _cluster_id() -> str:
    while True:  # like Kafka's own ids: never starting with '-', which reads as an option
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)  # started with start_new_session, so pgid == pid


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _last(text: str, lines: int = 30) -> str:
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)  # Maven colours even in batch mode
    return "\n".join(plain.strip().splitlines()[-lines:])


def main(argv: list[str] | None = None) -> int:
    """CLI for make: fetch | start (returns, broker keeps running) | stop | status."""
    parser = argparse.ArgumentParser(prog="localbroker", description=__doc__)
    parser.add_argument("command", choices=["fetch", "start", "stop", "status"])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--port", type=int, default=9092)
    parser.add_argument("--controller-port", type=int, default=9093)
    parser.add_argument("--jmx-port", type=int, default=None)
    parser.add_argument("--heap", default="1g")
    args = parser.parse_args(argv)
    pid = running_pid(args.data_dir)
    try:
        if args.command == "fetch":
            print(ensure_jars())
        elif args.command == "start" and pid is None:
            ports = (args.port, args.controller_port, args.jmx_port)
            print(LocalBroker(args.data_dir, *ports, heap=args.heap).start())
        elif args.command == "stop":
            print("stopped" if stop_from_pidfile(args.data_dir) else "not running")
        else:
            print(f"running (pid {pid})" if pid is not None else "not running")
            return 0 if pid is not None else 1
    except BrokerError as exc:
        print(f"localbroker: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
