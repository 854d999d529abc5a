"""Fetches the pinned Kafka jars with Maven, once, into a git-ignored cache."""

from __future__ import annotations

import fcntl
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = REPO_ROOT / "deploy" / "kafka"
DEFAULT_CACHE = REPO_ROOT / ".cache" / "kafka"
KAFKA_VERSION = "4.1.1"
AGENT_JAR = Path("agent") / "jmx_prometheus_javaagent.jar"
MVN_GOALS = ("dependency:copy-dependencies@libs", "dependency:copy-dependencies@agent")


class BrokerError(RuntimeError):
    """A local broker could not be fetched, started or stopped; the message says why."""


def ensure_jars(cache: Path = DEFAULT_CACHE) -> Path:
    """Fetch the pinned Kafka jars with Maven unless already there; return the libs dir."""
    cache = cache.resolve()
    libs, marker, pom = cache / "libs", cache / "fetched.txt", DEPLOY_DIR / "pom.xml"
    stamp = f"kafka {KAFKA_VERSION} pom {hashlib.sha256(pom.read_bytes()).hexdigest()[:16]}\n"
    if read_text(marker) == stamp:
        return libs
    if (mvn := shutil.which("mvn")) is None:
        raise BrokerError("Maven ('mvn') is not on PATH; it fetches the Kafka jars. Install it.")
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent callers fetch once
        if read_text(marker) == stamp:
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
            raise BrokerError(f"fetching Kafka jars failed: {' '.join(cmd)}\n{last_lines(output)}")
        marker.write_text(stamp)
    return libs


def read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def last_lines(text: str, lines: int = 30) -> str:
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)  # Maven colours even in batch mode
    return "\n".join(plain.strip().splitlines()[-lines:])
