"""Scenario files are validated: a typo names the file and the field; volumes turn into rates."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.scenario.model import MAX_PLANNED_ARRIVALS, ScenarioError, load_scenario

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


def test_a_period_planning_more_arrivals_than_the_bound_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("scale: 0.01", "scale: 1000000"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(path) in str(info.value)
    assert "periods[0] (2023H1): plans 1.77e+09 arrivals" in str(info.value)
    assert f"{MAX_PLANNED_ARRIVALS:,}" in str(info.value)


def test_the_bound_counts_arrivals_through_the_diurnal_profile(tmp_path: Path) -> None:
    # 2,000/s for 3,600 s is 7.2 million flat, but the hour played is 2.8x the day's mean
    flat = "name: x\ntopology: t.yaml\nperiods: [{name: p, duration_s: 3600, rate_per_s: 2000}]\n"
    load_scenario(write(tmp_path, flat))
    peak = (
        flat
        + "diurnal: {start_hour: 10, hourly: [1,1,1,1,1,1,1,1,1,1,3,1,1,1,1,1,1,1,1,1,1,1,1,1]}\n"
    )
    with pytest.raises(ScenarioError, match=r"periods\[0\] \(p\): plans 1.99e\+07"):
        load_scenario(write(tmp_path, peak))


def test_max_requests_and_the_warm_up_count_toward_the_bound(tmp_path: Path) -> None:
    big = "name: x\ntopology: t.yaml\nperiods: [{name: p, duration_s: 600, rate_per_s: 50000}]\n"
    capped = big.replace("50000", "50000, max_requests: 1000")
    load_scenario(write(tmp_path, capped))
    with pytest.raises(ScenarioError, match=r"warmup_s: plans 3e\+07"):
        load_scenario(write(tmp_path, capped + "warmup_s: 600\n"))


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ("time_compression: 10", "time_compression: .inf"),
        ("scale: 0.01", "scale: .nan"),
        ("time_compression: 10", "time_compression: 10000000"),
    ],
)
def test_non_finite_or_endless_numbers_are_refused(tmp_path: Path, edit: str, field: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, GOOD.replace(edit, field)))
    assert str(tmp_path / "s.yaml") in str(info.value)
    assert field.split(":")[0] in str(info.value)


def test_shipped_scenarios_stay_within_the_bound() -> None:
    for path in (Path(__file__).resolve().parents[2] / "loadtests" / "scenarios").glob("*.yaml"):
        load_scenario(path)
