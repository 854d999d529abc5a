"""Every dashboard panel and every rule shows data from a real stack watched by a real Prometheus.

The stack: a secured local KRaft broker (SASL, ACLs, signed records) with the JMX exporter
agent and a produce quota on the tax authority (ministry.tax), the registry, ministry, province,
monitor and tax services as processes (each with its own credentials file), and this test
process as the load driver playing a two-period scenario (tests/e2e/watching-scenario.yaml) with
a small bulk job (platforms share sellers the tax authority verifies in bulk) and serving its
own /metrics. Prometheus runs with deploy/prometheus/prometheus.yml (targets moved to the test's
free ports) and the project's rules.

What is asserted, through Prometheus's HTTP API:
- dashboard panels and recording rules: every query returns at least one sample that is a
  number (not NaN); a failure names the dashboard and panel, or the rule, that shows no data;
- alert rules: every expression evaluates without error. An empty result is the healthy answer
  (the alert would not fire), so only an error fails;
- Prometheus evaluates every rule group itself with health "ok";
- every scrape target is up, and the broker's JMX metrics (kafka_*) are in Prometheus;
- the growth the rules measure for the grown period is positive.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import math
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import start_http_server
from rich.console import Console

from loadtests.cluster import apply_quotas
from loadtests.cluster.localbroker import LocalBroker
from loadtests.cluster.provision import provision, write_process_files
from loadtests.engine.run import execute
from loadtests.measure.growth import Meter
from loadtests.report import RunReport
from loadtests.stack import platform as stack_module
from loadtests.stack.components import CONSOLE_LIBRARIES, CONSOLE_PAGE, CONSOLES, LOCAL_ONLY_JOBS
from loadtests.stack.runtopics import stack_topics
from loadtests.stack.serviceproc import ServiceProcess, free_port, tail
from services.config import Quota
from services.config.settings import load_settings
from services.kafka.bus import KafkaTransport
from services.security.credfile import write_credentials
from services.world.topology import TAX_AUTHORITY, load_topology
from tests.support.browser import open_url
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
PROM_DIR = REPO / "deploy" / "prometheus"
DASHBOARDS = sorted((REPO / "deploy" / "grafana" / "dashboards").glob("*.json"))
SCENARIO = Path(__file__).with_name("watching-scenario.yaml")
JOBS = ("registry", "ministry", "province", "monitor", "tax", "driver", "kafka")
# (name, module, agencies it hosts): none of the scenario's, so each reply has one reader.
SERVICES = (
    ("registry", "services.registry", ""),
    ("ministry", "services.ministry", "ministry.tax,ministry.justice"),
    ("province", "services.province", "province.079,province.092"),
    ("monitor", "services.monitor", ""),
    ("tax", "services.tax", ""),
)
# The services a run starts for itself beside the standing ones (RunTargets).
RUN_JOBS = ("registry", "monitor", "tax")
# The tax authority's produce quota, for the throttle panel's data. The broker averages a byte
# rate over at least ten 1 s windows, and the scenario's 3,000 sellers (chunks and results, about
# 270 kB) peak at about 27 kB/s so measured, under the 64 KiB/s that would leave them alone:
# 16 KiB/s throttles them for certain (a few seconds per produce), and the job is done about
# 15 s after it began. The throttle the broker reports lingers 30 s at least after the last one,
# well past the moment the panels are read.
TAX_QUOTA = Quota(producer_byte_rate=16384)
RATE_PER_AGENCY = "10"
JMX_METRICS = (
    "kafka_network_requests_total",
    "kafka_network_request_time_seconds",
    "kafka_server_bytes_in_total",
    "kafka_server_bytes_out_total",
    "kafka_server_messages_in_total",
    "kafka_server_under_replicated_partitions",
)

pytestmark = pytest.mark.timeout(900)


class Prometheus:
    """The HTTP API of the Prometheus under test."""

    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, path: str, form: dict[str, str] | None = None) -> dict[str, Any]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with urllib.request.urlopen(f"{self.url}{path}", data=data, timeout=10) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:  # a bad query answers 400 with a JSON error
            body = exc.read()
        answer: dict[str, Any] = json.loads(body)
        return answer

    def query(self, expr: str) -> dict[str, Any]:
        return self.call("/api/v1/query", {"query": expr})

    def samples(self, expr: str) -> list[dict[str, Any]]:
        answer = self.query(expr)
        assert answer["status"] == "success", f"{expr}: {answer.get('error')}"
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def wait_for(self, what: str, ready: Callable[[], bool], timeout: float) -> float:
        return wait_for(ready, timeout, f"Prometheus: {what} not seen", every=0.5)

    def evaluated_twice_since(self, moment: float) -> bool:
        """Every rule group has been evaluated at least twice since `moment` (Unix time): its
        last evaluation is more than one interval after it."""
        groups = self.call("/api/v1/rules")["data"]["groups"]
        return bool(groups) and all(
            datetime.fromisoformat(g["lastEvaluation"]).timestamp() > moment + float(g["interval"])
            for g in groups
        )


def no_data(answer: dict[str, Any]) -> str | None:
    """Why a query answer shows nothing, or None when it shows at least one number."""
    if answer.get("status") != "success":
        return f"error: {answer.get('error')}"
    data = answer["data"]
    values = [data["result"]] if data["resultType"] == "scalar" else data["result"]
    numbers = [float(v["value"][1] if isinstance(v, dict) else v[1]) for v in values]
    if not numbers:
        return "no data"
    return "only NaN" if all(math.isnan(n) for n in numbers) else None


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules(kind: str) -> list[dict[str, Any]]:
    return [
        rule
        for path in sorted((PROM_DIR / "rules").glob("*.yml"))
        for group in load_yaml(path)["groups"]
        for rule in group["rules"]
        if kind in rule
    ]


def panels(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in node.get("panels", []):
        yield from panels(panel)
        if panel.get("targets"):
            yield panel


class RunTargets:
    """The services a scenario run starts for itself, in files Prometheus discovers targets
    from, one per job of RUN_JOBS.

    A run starts its own registry, monitor and (as it plays a bulk job) tax authority's
    reconciler beside the standing ones, in the same consumer groups, so each handles only the
    records of its partitions (dossiers, bulk requests, platform shares): Prometheus scrapes
    them all to see everything.
    """

    def __init__(self, into: Path) -> None:
        self.paths = {job: into / f"run-{job}.json" for job in RUN_JOBS}
        self.ports: dict[str, list[int]] = {job: [] for job in RUN_JOBS}
        for job in RUN_JOBS:
            self.write(job)

    def write(self, job: str) -> None:
        targets = [f"127.0.0.1:{port}" for port in self.ports[job]]
        self.paths[job].write_text(json.dumps([{"targets": targets}] if targets else []))

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """While the run lasts, every service it starts is a target; none once it is over."""
        found = self

        class Reported(stack_module.ServiceProcess):
            def start(self) -> None:
                super().start()
                if self.kind in found.ports:
                    found.ports[self.kind].append(self.metrics_port)
                    found.write(self.kind)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(stack_module, "ServiceProcess", Reported)
            try:
                yield
            finally:
                for job in RUN_JOBS:
                    self.ports[job].clear()
                    self.write(job)


KAFKA_SCRAPE_EVERY = "2s"
SCRAPE_EVERY = "1s"


def prometheus_config(ports: dict[str, int], run_targets: RunTargets, into: Path) -> Path:
    """The project's prometheus.yml with each job pointed at the port the test opened."""
    config = load_yaml(PROM_DIR / "prometheus.yml")
    config["rule_files"] = [str(PROM_DIR / f) for f in config["rule_files"]]
    # Every second instead of every five: the same rules and panels over windows of a minute see
    # five times the samples, and the test waits for scrapes and evaluations a fifth as long.
    config["global"].update(scrape_interval=SCRAPE_EVERY, scrape_timeout="900ms")
    config["global"]["evaluation_interval"] = SCRAPE_EVERY
    config["scrape_configs"] = [  # the supervisor of `make up` is not part of this stack
        j for j in config["scrape_configs"] if j["job_name"] not in LOCAL_ONLY_JOBS
    ]
    jobs = [job["job_name"] for job in config["scrape_configs"]]
    assert sorted(jobs) == sorted(JOBS), f"prometheus.yml scrapes {jobs}; the test starts {JOBS}"
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{ports[job['job_name']]}"]}]
        if job["job_name"] == "kafka":  # the JMX exporter walks every MBean: over 1 s when busy
            job.update(scrape_interval=KAFKA_SCRAPE_EVERY, scrape_timeout="1900ms")
        if job["job_name"] in RUN_JOBS:
            job["file_sd_configs"] = [
                {
                    "files": [str(run_targets.paths[job["job_name"]])],
                    "refresh_interval": SCRAPE_EVERY,
                }
            ]
    path = into / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def secure(broker: LocalBroker, tmp: Path) -> tuple[dict[str, Path], Path]:
    """Users, ACLs, topics and the tax authority's quota on the secured broker; each process's
    credentials file, and the whole set (with the run secret) for the run the test plays."""
    assert broker.admin is not None
    topology = load_topology(REPO / "loadtests" / "topologies" / "demo.yaml")
    made = provision(broker.bootstrap, broker.admin, topology)
    maker = KafkaTransport(broker.bootstrap, security=broker.admin)
    asyncio.run(
        maker.ensure_topics(stack_topics(topology.agencies(), bulk_by=topology.reconcilers()))
    )
    apply_quotas(broker.bootstrap, broker.admin, {TAX_AUTHORITY: TAX_QUOTA})
    files = write_process_files(tmp / "secrets", made.credentials, topology)
    return files, write_credentials(tmp / "all.credentials.yaml", made.credentials)


def start_services(
    stack: contextlib.ExitStack,
    bootstrap: str,
    ports: dict[str, int],
    logs: Path,
    files: dict[str, Path],
) -> None:
    started = []
    for name, module, agencies in SERVICES:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "NDX_TOPOLOGY": "loadtests/topologies/demo.yaml",
            "NDX_RATE_PER_AGENCY": RATE_PER_AGENCY,
            "NDX_AGENCIES": agencies,
            "NDX_CREDENTIALS": str(files[name]),
        }
        service = ServiceProcess(name, module, env, ports[name], logs / f"{name}.log")
        stack.callback(service.stop)
        service.start()
        started.append(service)
    for service in started:
        service.wait_ready(service.name, timeout=90)


def serve_driver_metrics(stack: contextlib.ExitStack, port: int) -> None:
    server, thread = start_http_server(port, addr="127.0.0.1")

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(10)

    stack.callback(stop)


def start_prometheus(stack: contextlib.ExitStack, config: Path, tmp: Path) -> Prometheus:
    exe = shutil.which("prometheus")
    if exe is None:
        pytest.fail(
            "prometheus is missing: `make system-deps` installs Debian's prometheus package"
        )
    port, log = free_port(), tmp / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                exe,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
                f"--web.console.templates={CONSOLES}",  # as `make up` starts it
                f"--web.console.libraries={CONSOLE_LIBRARIES}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    stack.callback(stop)
    prometheus = Prometheus(f"http://127.0.0.1:{port}")

    def ready() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"prometheus exited with {proc.returncode}:\n{tail(log)}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{prometheus.url}/-/ready", timeout=2) as resp,
        ):
            return bool(resp.status == 200)
        return False

    prometheus.wait_for("readiness", ready, 30)
    return prometheus


# At each period's end the run's meter waits, up to 15 s, for its own monitor to have tallied
# every dossier sent and for its registry's count to stand still. Beside the standing services
# neither happens (the standing monitor takes part of the dossiers, their background traffic
# never stops), so it would wait out the whole bound at every mark, for the run report's
# figures, which this test does not read: here the bound is a second.
RUN_METER_SETTLE_S = 1.0


def play_scenario(bootstrap: str, runs: Path) -> RunReport:
    """Play the scenario on its own event loop and thread, bounded in time."""
    settings = load_settings(kafka_bootstrap_servers=bootstrap)
    console = Console(file=io.StringIO())
    pool = ThreadPoolExecutor(1, thread_name_prefix="driver")
    try:
        with pytest.MonkeyPatch.context() as patch:
            settle = functools.partialmethod(Meter.mark, settle_s=RUN_METER_SETTLE_S)
            patch.setattr(Meter, "mark", settle)
            run = pool.submit(asyncio.run, execute(SCENARIO, runs, settings, console, live=False))
            return run.result(timeout=300)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def all_targets_up(prometheus: Prometheus) -> bool:
    targets = prometheus.call("/api/v1/targets")["data"]["activeTargets"]
    return sorted(t["labels"]["job"] for t in targets if t["health"] == "up") == sorted(JOBS)


def only_standing_targets(prometheus: Prometheus) -> bool:
    """Every target up and none but the standing ones: a run's own services, gone with its run,
    have left the files Prometheus discovers them from."""
    targets = prometheus.call("/api/v1/targets")["data"]["activeTargets"]
    jobs = sorted(t["labels"]["job"] for t in targets)
    return jobs == sorted(JOBS) and all(t["health"] == "up" for t in targets)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    tmp = tmp_path_factory.mktemp("watching")
    ports = {job: free_port() for job in JOBS}
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(pytest.MonkeyPatch.context())
        # Fully compiled, as `make up` runs it: its JMX exporter answers each scrape in time.
        env.delenv("KAFKA_OPTS", raising=False)
        broker = LocalBroker(tmp / "kafka", free_port(), free_port(), ports["kafka"], secured=True)
        stack.callback(broker.stop)
        bootstrap = broker.start()
        files, everyone = secure(broker, tmp)
        env.setenv("NDX_CREDENTIALS", str(everyone))  # the run's driver and the services it starts
        start_services(stack, bootstrap, ports, tmp / "logs", files)
        serve_driver_metrics(stack, ports["driver"])
        run_targets = RunTargets(tmp)
        prom = start_prometheus(stack, prometheus_config(ports, run_targets, tmp), tmp)
        prom.wait_for("every target up", lambda: all_targets_up(prom), 60)
        with run_targets.watching():
            report = play_scenario(bootstrap, tmp / "runs")
        assert report.totals.sent > 0, "the scenario sent nothing"
        jobs = report.bulk.jobs if report.bulk is not None else []
        assert jobs and all(j.answered for j in jobs), f"the bulk job went unanswered: {jobs}"
        prom.wait_for("the run's own services dropped", lambda: only_standing_targets(prom), 30)
        prom.wait_for(
            "the end of the scenario",
            lambda: bool(prom.samples('ndx_scenario_period_active{period="grown"} == 0')),
            30,
        )
        ended = time.time()  # two more rule evaluations after the last scrape of the driver:
        prom.wait_for("two rule evaluations", lambda: prom.evaluated_twice_since(ended), 30)
        yield prom


def test_every_scrape_target_is_up(prometheus: Prometheus) -> None:
    targets = prometheus.call("/api/v1/targets")["data"]["activeTargets"]
    down = [f"{t['labels']['job']}: {t['lastError']}" for t in targets if t["health"] != "up"]
    assert not down, f"targets down: {down}"


def test_broker_jmx_metrics_reach_prometheus(prometheus: Prometheus) -> None:
    found = prometheus.samples('count by (__name__) ({job="kafka", __name__=~"kafka_.+"})')
    names = {s["metric"]["__name__"] for s in found}
    missing = [m for m in JMX_METRICS if m not in names]
    assert not missing, f"JMX metrics missing from Prometheus: {missing} (found {sorted(names)})"


def test_every_dashboard_panel_shows_data(prometheus: Prometheus) -> None:
    empty = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text(encoding="utf-8"))
        for panel in panels(board):
            for target in panel["targets"]:
                reason = no_data(prometheus.query(target["expr"]))
                if reason:
                    where = f"{board['title']} / {panel['title']!r} ({target['refId']})"
                    empty.append(f"{where}: {reason}: {target['expr']}")
    assert not empty, "panels without data:\n" + "\n".join(empty)


def test_every_recording_rule_returns_data(prometheus: Prometheus) -> None:
    empty = []
    for rule in rules("record"):
        reason = no_data(prometheus.query(rule["expr"]))
        if reason:
            empty.append(f"{rule['record']}: {reason}")
    assert not empty, "recording rules without data:\n" + "\n".join(empty)


def test_every_alert_rule_expression_evaluates(prometheus: Prometheus) -> None:
    broken = []
    for rule in rules("alert"):
        answer = prometheus.query(rule["expr"])
        if answer.get("status") != "success":
            broken.append(f"{rule['alert']}: {answer.get('error')}")
    assert not broken, "alert expressions that fail:\n" + "\n".join(broken)


def test_prometheus_evaluates_every_rule_without_error(prometheus: Prometheus) -> None:
    groups = prometheus.call("/api/v1/rules")["data"]["groups"]
    evaluated = {r["name"]: r for g in groups for r in g["rules"]}
    wanted = [r.get("record") or r["alert"] for r in rules("record") + rules("alert")]
    unhealthy = [
        f"{n}: {evaluated[n]['health']} {evaluated[n].get('lastError', '')}"
        if n in evaluated
        else f"{n}: not loaded"
        for n in wanted
        if n not in evaluated or evaluated[n]["health"] != "ok"
    ]
    assert not unhealthy, f"rules Prometheus did not evaluate cleanly: {unhealthy}"


# Per graph of the console page: lines drawn (SVG paths with points) and any error it shows.
CONSOLE_GRAPHS = """[...document.querySelectorAll('div.ndx-graph')].map(g => ({
  id: g.id,
  points: [...g.querySelectorAll('td.rickshaw_graph svg path')]
    .reduce((n, p) => n + ((p.getAttribute('d') || '').match(/[ML]/g) || []).length, 0),
  error: (g.querySelector('.prom_graph_error') || {}).textContent || '',
  names: [...g.querySelectorAll('.rickshaw_legend .label')].map(l => l.textContent),
}))"""
CONSOLE_GRAPH_IDS = (
    "rate-by-flow",
    "bulk-by-lane",
    "rate-by-kind",
    "growth",
    "online-share",
    "p99-by-flow",
    "p99-by-link",
    "hops",
    "consumer-lag",
    "dead-letters",
    "readiness",
)


def test_the_console_page_draws_every_graph_with_data(
    prometheus: Prometheus, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shot = tmp_path_factory.mktemp("console") / "console.png"
    with open_url(prometheus.url + CONSOLE_PAGE) as page:
        drawn = page.wait_for(
            f"(() => {{ const g = {CONSOLE_GRAPHS}; return g.length && "
            "g.every(x => x.points > 1 || x.error) ? g : null; })()",
            timeout_s=60,
        )
        page.screenshot(shot)
        errors = [e for e in page.console_errors() if "favicon.ico" not in e]  # none shipped
    assert [g["id"] for g in drawn] == list(CONSOLE_GRAPH_IDS)
    empty = [f"{g['id']}: {g['error'] or 'nothing drawn'}" for g in drawn if g["points"] <= 1]
    assert not empty, f"console graphs without data: {empty}"
    unnamed = {g["id"]: g["names"] for g in drawn if any("undefined" in n for n in g["names"])}
    assert not unnamed, f"console legends without a name: {unnamed}"
    assert all(g["names"] for g in drawn), f"console graphs without a legend: {drawn}"
    assert errors == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    print(f"console screenshot: {shot}")


def test_growth_is_measured_against_the_baseline_period(prometheus: Prometheus) -> None:
    growth = prometheus.samples(
        'scenario_period:ndx_sharing_transactions:growth_ratio{scenario="watching"}'
    )
    by_period = {s["metric"]["period"]: float(s["value"][1]) for s in growth}
    assert set(by_period) == {"baseline", "grown"}, by_period
    assert by_period["baseline"] == pytest.approx(0.0)
    assert by_period["grown"] > 0, f"the grown period measured no growth: {by_period}"
