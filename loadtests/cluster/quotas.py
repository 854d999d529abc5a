"""Kafka client quotas per principal on a secured cluster, and the throttle the brokers applied.

Why: neither client library speaks the client-quota Admin API, so quotas are set, read and
removed with Kafka's own `kafka-configs` tool (kafka.admin.ConfigCommand) from the pinned jars,
logged in as the cluster's admin through a private properties file deleted after each call; the
throttle comes from the brokers' JMX exporters (deploy/kafka/jmx-exporter.yaml).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import math
import re
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from loadtests.cluster.jars import DEFAULT_CACHE, BrokerError, ensure_jars, last_lines
from loadtests.cluster.local import LocalCluster
from loadtests.cluster.probe import HOST
from loadtests.cluster.secured import SCRAM_MODULE, _jaas_value
from services.config import Quota
from services.security import ClientSecurity, write_private

__all__ = [
    "THROTTLE_METRIC",
    "PrincipalThrottle",
    "QuotaError",
    "ThrottleMeter",
    "apply_quotas",
    "described_quotas",
    "exporter_urls",
    "remove_quotas",
    "throttle_of",
]

TOOL = "kafka.admin.ConfigCommand"
# A one-shot client: a small heap, C1 only and the serial collector start and end it in ~1 s.
TOOL_JVM = ("-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto")
TOOL_TIMEOUT_S = 60.0
# Kafka's user names are free text, but an empty one means "every user's default quota" to the
# tool; ndxsim's principals are the credentials file's (services/security/credentials.py).
PRINCIPAL = re.compile(r"^[a-z][a-z0-9_.-]*$")
DESCRIBED = re.compile(r"^Quota configs for user-principal '(?P<user>.+)' are (?P<configs>.*)$")
THROTTLE_METRIC = "kafka_server_quota_throttle_time_ms"
SCRAPE_TIMEOUT_S = 1.5


class QuotaError(RuntimeError):
    """The quota tool refused or failed for one principal; the message names it and says why."""


def apply_quotas(
    bootstrap: str,
    admin: ClientSecurity,
    quotas: Mapping[str, Quota],
    cache: Path = DEFAULT_CACHE,
) -> None:
    """Set each principal's quota keys (one tool call per principal; keys a quota leaves out
    keep whatever value they had). Every name is checked before the first call; a refusal
    raises QuotaError, leaving the principals before it applied (remove_quotas undoes them)."""
    for principal in quotas:
        _check_principal(principal)
    for principal, quota in quotas.items():
        given = ",".join(f"{key}={_number(value)}" for key, value in quota.given().items())
        _run(bootstrap, admin, principal, ["--alter", "--add-config", given], "apply", cache)


def remove_quotas(
    bootstrap: str,
    admin: ClientSecurity,
    principals: Iterable[str],
    cache: Path = DEFAULT_CACHE,
) -> None:
    """Remove every quota key of these principals: one call reading all users' quotas, then one
    per principal that has any (the tool refuses to delete a key that is not set)."""
    wanted = list(dict.fromkeys(principals))
    for principal in wanted:
        _check_principal(principal)
    if not wanted:
        return
    held = _described(_run(bootstrap, admin, None, ["--describe"], "read", cache))
    for principal in wanted:
        if keys := held.get(principal):
            deleted = ["--alter", "--delete-config", ",".join(sorted(keys))]
            _run(bootstrap, admin, principal, deleted, "remove", cache)


def described_quotas(
    bootstrap: str, admin: ClientSecurity, principal: str, cache: Path = DEFAULT_CACHE
) -> dict[str, float]:
    """The quota keys the cluster holds for one principal, with their values; {} when none."""
    _check_principal(principal)
    text = _run(bootstrap, admin, principal, ["--describe"], "read", cache)
    return _described(text).get(principal, {})


def _check_principal(principal: str) -> None:
    if not PRINCIPAL.fullmatch(principal):
        raise QuotaError(
            f"quota principal {principal!r}: not a principal name (must match {PRINCIPAL.pattern})"
        )


def _number(value: float) -> str:
    """Byte rates are integers to the broker (it refuses '10240.0'); percentages may not be."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _described(text: str) -> dict[str, dict[str, float]]:
    """The tool's `--describe` lines, e.g. "Quota configs for user-principal 'province.001' are
    request_percentage=50.0, producer_byte_rate=10240.0", as principal -> key -> value."""
    found: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if (match := DESCRIBED.match(line.strip())) is None:
            continue
        pairs = (part.split("=", 1) for part in match["configs"].split(", ") if "=" in part)
        found[match["user"]] = {key.strip(): float(value) for key, value in pairs}
    return found


def command_config(admin: ClientSecurity) -> str:
    """The admin client's properties: SASL/SCRAM as the admin, and the cluster's CA over TLS."""
    lines = [
        f"security.protocol={admin.protocol}",
        f"sasl.mechanism={admin.mechanism}",
        f'sasl.jaas.config={SCRAM_MODULE} required username="{admin.principal}" '
        f'password="{_jaas_value(admin)}";',
    ]
    if admin.protocol == "SASL_SSL":
        if admin.ca_file is None:
            raise QuotaError("a SASL_SSL admin needs the CA file of its cluster")
        lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={admin.ca_file}"]
    return "\n".join(lines) + "\n"


def _run(
    bootstrap: str,
    admin: ClientSecurity,
    principal: str | None,
    action: list[str],
    what: str,
    cache: Path,
) -> str:
    """One ConfigCommand call on users (one user, or all when principal is None); its stdout."""
    who = f"quota of {principal}" if principal else "quotas of every user"
    if (java := shutil.which("java")) is None:
        raise QuotaError(
            f"{who}: Java ('java', 17 or newer) is not on PATH; kafka-configs needs it"
        )
    try:
        libs = ensure_jars(cache)
        config_text = command_config(admin)
    except BrokerError as exc:
        raise QuotaError(f"{who}: {exc}") from None
    entity = ["--entity-type", "users", *(["--entity-name", principal] if principal else [])]
    with tempfile.TemporaryDirectory(prefix="ndx-quota-") as private:
        config = write_private(Path(private) / "admin.properties", config_text)
        cmd = [java, *TOOL_JVM, "-cp", f"{libs}/*", TOOL, "--bootstrap-server", bootstrap]
        cmd += ["--command-config", str(config), *action, *entity]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise QuotaError(
                f"{who}: kafka-configs could not {what} it within {TOOL_TIMEOUT_S:g}s "
                f"on {bootstrap}"
            ) from None
    if done.returncode != 0:
        raise QuotaError(
            f"{who}: kafka-configs could not {what} it on {bootstrap} (exit {done.returncode}): "
            f"{_reason(done.stderr or done.stdout)}"
        )
    return done.stdout


def _reason(output: str) -> str:
    """The broker's refusal ("Caused by: ...") when the tool printed a stack trace, else the
    tail of what it said."""
    causes = [line.strip() for line in output.splitlines() if line.startswith("Caused by:")]
    if causes:
        return causes[-1].removeprefix("Caused by: ")
    return last_lines(output, 5) or "no output"


# --- The throttle the brokers applied --------------------------------------------------------


def exporter_urls(cluster: LocalCluster) -> list[str]:
    """Each node's JMX exporter page, holding only the throttle series; [] when the cluster
    was started without exporters."""
    query = urllib.parse.urlencode([("name[]", THROTTLE_METRIC)])
    return [
        f"http://{HOST}:{node.jmx_exporter_port}/metrics?{query}"
        for node in cluster.nodes.values()
        if node.jmx_exporter_port is not None
    ]


def throttle_of(exporter_text: str) -> dict[str, dict[str, float]]:
    """principal -> kind (produce, fetch, request) -> throttle (ms, the broker's mean over its
    quota window) on one exporter page. A user the broker tracks but has not throttled in the
    window reads 0 (the broker reports NaN: no sample)."""
    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(exporter_text):
        if family.name != THROTTLE_METRIC:
            continue
        for sample in family.samples:
            user, kind = sample.labels.get("user"), sample.labels.get("kind")
            if not user or not kind:
                continue
            value = 0.0 if math.isnan(sample.value) else float(sample.value)
            # Kafka URL-encodes user names in MBean names (Sanitizer.sanitize).
            found.setdefault(urllib.parse.unquote(user), {})[kind] = value
    return found


@dataclass(frozen=True, slots=True)
class PrincipalThrottle:
    """How much the brokers throttled one principal's requests of one kind during a run."""

    principal: str
    kind: str  # produce, fetch or request
    peak_ms: float  # highest throttle-time average scraped
    mean_ms: float  # mean over the scrapes where the broker tracked this principal
    samples: int  # those scrapes
    seconds_throttled: int  # scrapes showing a throttle above 0, times the scrape interval


@dataclass(slots=True)
class _Tally:
    peak_ms: float = 0.0
    total_ms: float = 0.0
    samples: int = 0
    throttled: int = 0


def fetch_page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT_S) as resp:
        return str(resp.read().decode())


class ThrottleMeter:
    """Scrapes the brokers' exporters every `every_s` while a run plays. Quotas are enforced by
    each broker on its own, so one scrape round takes, per principal and kind, the most
    throttled broker's figure. A page that does not come, or does not parse, is skipped."""

    def __init__(
        self,
        urls: Sequence[str],
        every_s: float = 1.0,
        fetch: Callable[[str], str] = fetch_page,
    ) -> None:
        self.urls, self.every_s, self._fetch = list(urls), every_s, fetch
        self._tallies: dict[tuple[str, str], _Tally] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None and self.urls:
            self._task = asyncio.create_task(self._scraping(), name="throttle-meter")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def add(self, pages: Iterable[str]) -> None:
        """One scrape round: every broker's page of the same moment."""
        moment: dict[tuple[str, str], float] = {}
        for page in pages:
            try:
                read = throttle_of(page)
            except ValueError:
                continue  # a page cut short mid-line: that broker is missing this round
            for principal, kinds in read.items():
                for kind, ms in kinds.items():
                    key = (principal, kind)
                    moment[key] = max(ms, moment.get(key, 0.0))
        for key, ms in moment.items():
            tally = self._tallies.setdefault(key, _Tally())
            tally.peak_ms = max(tally.peak_ms, ms)
            tally.total_ms += ms
            tally.samples += 1
            tally.throttled += ms > 0

    def figures(self) -> list[PrincipalThrottle]:
        """Per principal and kind, by principal then kind."""
        return [
            PrincipalThrottle(
                principal,
                kind,
                tally.peak_ms,
                tally.total_ms / tally.samples,
                tally.samples,
                round(tally.throttled * self.every_s),
            )
            for (principal, kind), tally in sorted(self._tallies.items())
        ]

    async def _scraping(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            pages = await asyncio.gather(*(asyncio.to_thread(self._page, url) for url in self.urls))
            self.add(page for page in pages if page is not None)
            due = max(due + self.every_s, loop.time())
            await asyncio.sleep(due - loop.time())

    def _page(self, url: str) -> str | None:
        try:
            return self._fetch(url)
        except (OSError, ValueError, http.client.HTTPException):
            return None  # a broker down or busy for a moment: its page is missing this round
