"""Scenario files are validated: a typo names the file and the field; volumes turn into rates."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.scenario import ScenarioError, load_scenario

GOOD = """
name: growth
topology: ../topologies/demo.yaml
scale: 0.01
time_compression: 10
periods:
  - {name: 2023H1, duration_s: 10, daily_transactions: 1530000, online_share: 0.17}
  - {name: 2024H1, duration_s: 10, baseline: 2023H1, growth: 0.67, online_share: 0.42}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_volumes_become_played_rates_with_scale_and_compression(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, GOOD))
    base, grown = scenario.periods
    assert scenario.rate(base) == pytest.approx(1_530_000 / 86_400 * 0.01 * 10)
    assert scenario.rate(grown) == pytest.approx(scenario.rate(base) * 1.67)
    assert scenario.daily_volume(grown) == pytest.approx(1_530_000 * 1.67)


def test_topology_path_is_relative_to_the_scenario_file(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, GOOD))
    assert (
        scenario.topology_path(tmp_path / "s.yaml")
        == (tmp_path.parent / "topologies" / "demo.yaml").resolve()
    )


def test_misspelt_key_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("online_share: 0.42", "onlin_share: 0.42"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(path) in str(info.value)
    assert "periods[1].onlin_share" in str(info.value)


def test_period_needs_exactly_one_volume(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD.replace("daily_transactions: 1530000", "rate_per_s: 5, daily_transactions: 1530000"),
    )
    with pytest.raises(ScenarioError, match=r"periods\[0\].*exactly one"):
        load_scenario(path)


def test_growth_must_refer_to_an_earlier_period(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("baseline: 2023H1", "baseline: 2025H1"))
    with pytest.raises(ScenarioError, match="not an earlier period"):
        load_scenario(path)


@pytest.mark.parametrize("text", ["name: [unclosed", "- just\n- a list"], ids=["yaml", "shape"])
def test_unreadable_yaml_names_the_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError, match=str(path)):
        load_scenario(path)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nope\.yaml: cannot read"):
        load_scenario(tmp_path / "nope.yaml")


def test_shipped_scenarios_load() -> None:
    for path in sorted(Path("loadtests/scenarios").glob("*.yaml")):
        assert load_scenario(path).periods
