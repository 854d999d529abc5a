"""Design files: every shipped design loads; a bad one names its file and field."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from services.config.design import Design, DesignError, ServiceTime, load_design
from services.kafka import KafkaTransport, NativeTransport, transport_for
from services.kafka.bus import ClientTuning
from services.registry.worktime import Database

DESIGNS = Path(__file__).resolve().parents[2] / "deploy" / "designs"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "design.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", sorted(DESIGNS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_design_loads_and_says_what_question_it_answers(path: Path) -> None:
    design = load_design(path)
    assert design.name == path.stem
    assert design.question
    assert path.read_text(encoding="utf-8").startswith("# Question:")


def test_the_baseline_design_is_the_default_design() -> None:
    assert load_design(DESIGNS / "baseline.yaml").model_dump(
        exclude={"description", "question"}
    ) == Design(name="baseline").model_dump(exclude={"description", "question"})


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("name: x\nregistry: {instnces: 2}\n", "registry.instnces"),
        ("name: x\ntopics: {requests: many}\n", "topics.requests"),
        ("name: x\ncluster: {brokers: 2}\n", "cluster.brokers"),
        (
            "name: x\ncluster: {brokers: 3, replication_factor: 2, min_insync_replicas: 3}\n",
            "cluster: Value error, min_insync_replicas (3) exceeds replication_factor (2)",
        ),
        (
            "name: x\ncluster: {brokers: 1, replication_factor: 3, min_insync_replicas: 2}\n",
            "replication_factor (3) exceeds brokers (1)",
        ),
        (
            "name: x\nregistry: {service_time: {model: lognormal, p50_ms: 5}}\n",
            "registry.service_time",
        ),
        ("name: x\nproducers: {acks: some}\n", "producers.acks"),
        ("registry: {instances: 2}\n", "name: Field required"),
        ("name: x\nbulk: {lane: fast}\n", "bulk.lane"),
        ("name: x\nbulk: {chunk: 2001}\n", "bulk.chunk"),
        (
            "name: x\nbulk: {quotas: {ministry.tax: {producer_bytes_rate: 1024}}}\n",
            "bulk.quotas.ministry.tax.producer_bytes_rate",
        ),
        ("name: x\nbulk: {quotas: {ministry.tax: {}}}\n", "bulk.quotas.ministry.tax"),
        ("name: x\nbulk: {quotas: {Tax Office: {request_percentage: 50}}}\n", "bulk.quotas"),
        ("name: x\nbulk: {quotas: {ministry.tax: {producer_byte_rate: 10}}}\n", "bulk.quotas"),
        (
            "name: x\nsecurity: {enabled: false}\n"
            "bulk: {quotas: {ministry.tax: {producer_byte_rate: 65536}}}\n",
            "bulk.quotas are per authenticated principal",
        ),
    ],
)
def test_a_bad_design_names_the_file_and_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DesignError) as caught:
        load_design(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert field.split(":")[0] in message, message


@pytest.mark.parametrize(
    "raw", [b"\xff\xfename: x\n", b"name: [unclosed\n", b"- a list\n", b"name: x\nname: y\n"]
)
def test_an_unreadable_design_is_an_error_not_a_traceback(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "design.yaml"
    path.write_bytes(raw)
    with pytest.raises(DesignError, match=str(path)):
        load_design(path)


def test_a_lognormal_service_time_has_the_mean_its_p50_and_p99_imply() -> None:
    spec = ServiceTime(model="lognormal", p50_ms=4.0, p99_ms=40.0)
    assert 4.0 < spec.mean_ms < 40.0
    assert spec.mean_ms == pytest.approx(4.0 * 1.6320, rel=1e-3)  # e^(σ²/2), σ = ln 10 / z99


def test_the_database_model_draws_service_times_with_the_design_percentiles() -> None:
    db = Database(ServiceTime(model="lognormal", p50_ms=4.0, p99_ms=40.0), 8, random.Random(1))
    draws = sorted(db.draw_s() * 1000 for _ in range(50_000))
    assert draws[len(draws) // 2] == pytest.approx(4.0, rel=0.05)
    assert draws[int(len(draws) * 0.99)] == pytest.approx(40.0, rel=0.1)
    assert Database(ServiceTime(model="fixed", ms=3), 1, random.Random(1)).draw_s() == 0.003
    assert Database(ServiceTime(), 1, random.Random(1)).idle


def test_a_design_names_its_client_library_and_aiokafka_is_the_default(tmp_path: Path) -> None:
    assert load_design(write(tmp_path, "name: x\n")).clients.library == "aiokafka"
    design = load_design(write(tmp_path, "name: x\nclients: {library: librdkafka}\n"))
    assert design.clients.library == "librdkafka"
    assert ClientTuning.of(design).library == "librdkafka"
    native = transport_for("127.0.0.1:1", ClientTuning.of(design))
    assert isinstance(native, NativeTransport)
    assert isinstance(native.as_principal(None), NativeTransport)
    assert isinstance(native.off_path(), NativeTransport)
    plain = transport_for("127.0.0.1:1")
    assert isinstance(plain, KafkaTransport) and not isinstance(plain, NativeTransport)


def test_one_side_may_run_on_its_own_client_library(tmp_path: Path) -> None:
    text = "name: x\nclients: {library: librdkafka, registry: aiokafka}\n"
    design = load_design(write(tmp_path, text))
    assert design.clients.on("registry") == "aiokafka"
    assert design.clients.on("agencies") == design.clients.on("services") == "librdkafka"
    assert ClientTuning.of(design, side="registry").library == "aiokafka"
    assert ClientTuning.of(design, side="agencies").library == "librdkafka"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("name: x\nclients: {library: kafka-python}\n", "clients.library"),
        ("name: x\nclients: {libary: librdkafka}\n", "clients.libary"),
        ("name: x\nclients: {agencies: confluent}\n", "clients.agencies"),
    ],
)
def test_a_bad_client_library_names_the_file_and_the_field(
    tmp_path: Path, text: str, field: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DesignError) as caught:
        load_design(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert field in str(caught.value), str(caught.value)
