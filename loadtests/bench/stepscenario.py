"""The scenario a bench step plays, built as a typed object: every agency of the demo topology
verifying citizens at one steady rate."""

from __future__ import annotations

from pydantic import ValidationError

from loadtests.scenario import Errors, Period, Scenario, ScenarioError, Slo
from services.config import REPO_ROOT, field_path

__all__ = ["PERIOD", "TOPOLOGY", "step_scenario", "template"]

PERIOD = "steady"
TOPOLOGY = REPO_ROOT / "loadtests" / "topologies" / "demo.yaml"


def template() -> Scenario:
    """The step every bench step is made from: 15 s at 1000/s on one registry instance."""
    return Scenario(
        name="bench-step",
        description=(
            "A steady, single-period rate of citizen verifications from three provinces and "
            "three ministries against the population registry, with the demo's mix of "
            "deliberate faults."
        ),
        topology=str(TOPOLOGY),
        timeout_s=5,
        registry_instances=1,
        periods=[Period(name=PERIOD, duration_s=15, rate_per_s=1000)],
        errors=Errors(wrong_name=0.05, wrong_birth_date=0.03, unknown_id=0.02, invalid_id=0.01),
        slo=Slo(p99_ms=250, max_timeout_share=0.0),
        assumptions=[
            "rates are benchmark steps, not reported figures",
            "fault shares are the demo's, so every verify outcome costs what it costs",
        ],
    )


def step_scenario(name: str, rate: float, seconds: float, registries: int) -> Scenario:
    """The template at one rate for `seconds` on `registries` registry instances, validated as
    a scenario file is (a ScenarioError names the step and the field)."""
    try:
        period = Period(name=PERIOD, duration_s=seconds, rate_per_s=rate)
        changes = {"name": name, "registry_instances": registries, "periods": [period]}
        return Scenario.model_validate(template().model_copy(update=changes).model_dump())
    except ValidationError as exc:
        problems = [
            f"{field_path(tuple(e['loc']))}{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors(include_url=False)
        ]
        raise ScenarioError(f"bench step {name}: " + "; ".join(problems)) from None
