"""Whatever a scenario or topology file holds, loading succeeds or names the file: no crash."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadtests.scenario.model import ScenarioError, load_scenario
from loadtests.scenario.plan import prepare
from services.world.topology import TopologyError, load_topology

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((REPO / "loadtests" / "scenarios").glob("*.yaml"))
TOPOLOGIES = sorted((REPO / "loadtests" / "topologies").glob("*.yaml"))
FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
pytestmark = pytest.mark.timeout(600)
INSERTS = [b": ", b"\n  - ", b"{", b"]", b"\t", b"&a *a", b"\xff\xfe", b"\x00", b"!!python/object "]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["2023-02-30", "10:00", "1e10", "0x1F", ".inf", "~", "province.001"])
)
keys = st.text(max_size=12) | st.sampled_from(["name", "periods", "provinces", "rate_per_s"])
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=25,
)


@pytest.fixture(scope="module")
def world() -> Iterator[Path]:
    """A scratch tree shaped like loadtests/, so a scenario's ../topologies/ path resolves."""
    root = Path(tempfile.mkdtemp(prefix="ndx-fuzz-"))
    (root / "scenarios").mkdir()
    shutil.copytree(REPO / "loadtests" / "topologies", root / "topologies")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def load_scenario_file(path: Path) -> None:
    prepare(path)  # the scenario, its topology and its agencies, as `ndxsim run` checks them


def only_own_errors(path: Path, data: bytes, load: Callable[[Path], object]) -> None:
    """Loading succeeds or raises the project's error naming the file at fault."""
    path.write_bytes(data)
    try:
        load(path)
    except ScenarioError as exc:
        assert str(exc).startswith(f"{path}: "), str(exc)
    except TopologyError as exc:
        named = path if load is load_topology else load_scenario(path).topology_path(path)
        assert str(exc).startswith(f"{named}: "), str(exc)


def mutate(text: str, draw: st.DrawFn) -> bytes:
    """One to three edits of the kinds a hand or a tool makes: cut, insert, replace, flip."""
    data = bytearray(text.encode("utf-8"))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["cut", "insert", "number", "flip"]))
        if kind == "cut":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(INSERTS))
        elif kind == "number":
            data[at:at] = str(draw(st.sampled_from([0, -1, 1e10, 1e308, 10**30, 0.0001]))).encode()
        elif at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)


def set_somewhere(doc: Any, value: Any, draw: st.DrawFn) -> Any:
    """The shipped document with one value, somewhere inside it, replaced."""
    if isinstance(doc, dict) and doc and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(doc, key=str)))
        return {**doc, key: set_somewhere(doc[key], value, draw)}
    if isinstance(doc, list) and doc and draw(st.booleans()):
        i = draw(st.integers(0, len(doc) - 1))
        return [*doc[:i], set_somewhere(doc[i], value, draw), *doc[i + 1 :]]
    return value


@FUZZ
@given(data=st.binary(max_size=600))
def test_random_bytes(world: Path, data: bytes) -> None:
    only_own_errors(world / "scenarios" / "bytes.yaml", data, load_scenario_file)
    only_own_errors(world / "topologies" / "bytes.yaml", data, load_topology)


@FUZZ
@given(doc=documents)
def test_random_yaml_documents(world: Path, doc: Any) -> None:
    data = yaml.safe_dump(doc, allow_unicode=True).encode()
    only_own_errors(world / "scenarios" / "doc.yaml", data, load_scenario_file)
    only_own_errors(world / "topologies" / "doc.yaml", data, load_topology)


@FUZZ
@given(st.data())
def test_mutated_shipped_files(world: Path, data: st.DataObject) -> None:
    scenario = data.draw(st.sampled_from(SCENARIOS))
    topology = data.draw(st.sampled_from(TOPOLOGIES))
    for source, path, load in (
        (scenario, world / "scenarios" / "mutant.yaml", load_scenario_file),
        (topology, world / "topologies" / "mutant.yaml", load_topology),
    ):
        only_own_errors(path, mutate(source.read_text(encoding="utf-8"), data.draw), load)


@FUZZ
@given(st.data(), documents)
def test_shipped_files_with_one_value_replaced(
    world: Path, data: st.DataObject, value: Any
) -> None:
    scenario = data.draw(st.sampled_from(SCENARIOS))
    topology = data.draw(st.sampled_from(TOPOLOGIES))
    for source, path, load in (
        (scenario, world / "scenarios" / "edited.yaml", load_scenario_file),
        (topology, world / "topologies" / "edited.yaml", load_topology),
    ):
        doc = set_somewhere(yaml.safe_load(source.read_text(encoding="utf-8")), value, data.draw)
        only_own_errors(path, yaml.safe_dump(doc, allow_unicode=True).encode(), load)
