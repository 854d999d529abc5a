"""Properties of the procedural population: valid ids, stable derivation, honest draws."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import unicodedata
from collections import Counter
from dataclasses import asdict
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.world import refdata
from services.world.derivation import MIGRANT_SHARE
from services.world.population import (
    SIM_TODAY,
    Citizen,
    InvalidCitizenId,
    Population,
    is_valid_id,
    mask_id,
    normalise_name,
    validate_id,
)

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
CODES = sorted(refdata.province_codes())
seeds = st.integers(min_value=0, max_value=2**63)
rng_seeds = st.integers(min_value=0, max_value=2**32)
provinces = st.none() | st.sampled_from(CODES)
ascii_digits = st.characters(min_codepoint=ord("0"), max_codepoint=ord("9"))


@cache
def population(seed: int = 7) -> Population:
    return Population(seed)


def _decoded_year(cid: str) -> int:
    return 1900 + 100 * (int(cid[3]) // 2) + int(cid[4:6])


def _assert_consistent(c: Citizen, today: date = SIM_TODAY) -> None:
    validate_id(c.citizen_id, today)
    assert c.birth_province == c.citizen_id[:3]
    assert c.sex == ("F" if int(c.citizen_id[3]) % 2 else "M")
    born = date.fromisoformat(c.birth_date)
    assert born.year == _decoded_year(c.citizen_id) and born <= today
    assert c.residence_province in CODES
    assert unicodedata.is_normalized("NFC", c.full_name) and len(c.full_name.split()) >= 3


@settings(max_examples=60, deadline=None)
@given(seed=seeds, rng_seed=rng_seeds, province=provinces)
def test_drawn_citizens_have_valid_ids_and_resolve_to_the_same_record(
    seed: int, rng_seed: int, province: str | None
) -> None:
    pop = Population(seed)
    rng = random.Random(rng_seed)
    for c in [pop.draw_existing(rng, province) for _ in range(20)]:
        _assert_consistent(c)
        assert pop.citizen(c.citizen_id) == c
        if province is not None:
            assert c.birth_province == province


@settings(max_examples=30, deadline=None)
@given(rng_seed=rng_seeds, province=provinces)
def test_drawn_living_citizens_are_alive(rng_seed: int, province: str | None) -> None:
    rng = random.Random(rng_seed)
    assert not any(population().draw_living(rng, province).deceased for _ in range(50))


@settings(max_examples=60, deadline=None)
@given(seed=seeds, rng_seed=rng_seeds, province=provinces)
def test_unknown_ids_are_valid_but_belong_to_nobody(
    seed: int, rng_seed: int, province: str | None
) -> None:
    pop = Population(seed)
    rng = random.Random(rng_seed)
    for cid in [pop.draw_unknown_id(rng, province) for _ in range(20)]:
        assert is_valid_id(cid)
        assert pop.citizen(cid) is None


def test_derivation_is_identical_in_another_process() -> None:
    pop, rng = Population(2024), random.Random(5)
    ids = [pop.draw_existing(rng).citizen_id for _ in range(200)]
    ids += [pop.draw_unknown_id(rng) for _ in range(50)]
    here = [asdict(c) if (c := pop.citizen(i)) else None for i in ids]
    script = (
        "import json, sys\n"
        "from dataclasses import asdict\n"
        "from services.world.population import Population\n"
        "pop = Population(2024)\n"
        "recs = [pop.citizen(i) for i in json.load(sys.stdin)]\n"
        "print(json.dumps([asdict(c) if c else None for c in recs]))\n"
    )
    for hash_seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)}
        out = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(ids),
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
            env=env,
        )
        assert json.loads(out.stdout) == here


def test_different_seeds_give_different_people_for_the_same_id() -> None:
    rng = random.Random(3)
    cs = [population(1).draw_existing(rng) for _ in range(50)]
    other = [population(2).citizen(c.citizen_id) for c in cs]
    assert sum(o is None or o.full_name != c.full_name for c, o in zip(cs, other, strict=True)) > 25


def _rejects(cid: str, reason: str) -> None:
    assert not is_valid_id(cid)
    with pytest.raises(InvalidCitizenId) as err:
        validate_id(cid)
    assert err.value.reason == reason
    with pytest.raises(InvalidCitizenId):
        population().citizen(cid)


@given(st.text(ascii_digits).filter(lambda s: len(s) != 12))
def test_ids_of_the_wrong_length_are_rejected(cid: str) -> None:
    _rejects(cid, "length")


@given(st.text(min_size=12, max_size=12).filter(lambda s: not (s.isascii() and s.isdigit())))
def test_ids_with_anything_but_ascii_digits_are_rejected(cid: str) -> None:
    _rejects(cid, "non_digit")


@given(
    st.integers(0, 999).map(lambda n: f"{n:03d}").filter(lambda c: c not in CODES),
    st.text(ascii_digits, min_size=9, max_size=9),
)
def test_ids_with_an_unknown_province_code_are_rejected(code: str, rest: str) -> None:
    _rejects(code + rest, "province")


@given(
    st.sampled_from(CODES),
    st.integers(SIM_TODAY.year + 1, 2399),
    st.booleans(),
    st.integers(0, 999_999),
)
def test_ids_born_after_today_are_rejected(code: str, year: int, female: bool, n: int) -> None:
    g = (year // 100 - 19) * 2 + female
    _rejects(f"{code}{g}{year % 100:02d}{n:06d}", "future_birth_year")


@given(st.sampled_from(CODES), st.integers(1900, SIM_TODAY.year - 121), st.integers(0, 999_999))
def test_ids_of_people_over_120_are_rejected(code: str, year: int, n: int) -> None:
    _rejects(f"{code}0{year % 100:02d}{n:06d}", "too_old")


def test_the_simulated_today_decides_which_birth_years_are_possible() -> None:
    cid = "001225000000"
    assert not is_valid_id(cid) and is_valid_id(cid, date(2025, 1, 1))
    pop = Population(9, today=date(2025, 3, 1))
    rng = random.Random(1)
    for c in [pop.draw_existing(rng) for _ in range(3000)]:
        _assert_consistent(c, pop.today)


@settings(max_examples=30, deadline=None)
@given(rng_seed=rng_seeds)
def test_drawn_invalid_ids_fail_validation_for_varied_reasons(rng_seed: int) -> None:
    rng = random.Random(rng_seed)
    reasons = Counter[str]()
    for _ in range(200):
        cid = population().draw_invalid_id(rng)
        with pytest.raises(InvalidCitizenId) as err:
            validate_id(cid)
        reasons[err.value.reason] += 1
    assert len(reasons) >= 4


@settings(max_examples=40, deadline=None)
@given(rng_seed=rng_seeds)
def test_wrong_names_and_birth_dates_really_differ(rng_seed: int) -> None:
    rng = random.Random(rng_seed)
    pop = population()
    for _ in range(20):
        c = pop.draw_existing(rng)
        name = pop.wrong_name(c, rng)
        assert normalise_name(name) != normalise_name(c.full_name)
        assert len(name.split()) >= 3
        born = date.fromisoformat(pop.wrong_birth_date(c, rng))
        assert born != date.fromisoformat(c.birth_date) and born <= SIM_TODAY


def test_surname_shares_follow_the_reported_shares() -> None:
    rng, pop = random.Random(11), population()
    n = 20_000
    seen = Counter(pop.draw_existing(rng).full_name.split()[0] for _ in range(n))
    assert abs(seen["Nguyễn"] / n - 0.384) < 0.015
    for row in refdata.surnames():
        if row.share_pct is not None:
            got = (seen[row.surname] + (seen[row.variant] if row.variant else 0)) / n
            assert abs(got - row.share_pct / 100) < 0.01, row.surname


def test_a_share_of_citizens_live_outside_their_birth_province() -> None:
    rng, pop = random.Random(4), population()
    cs = [pop.draw_existing(rng) for _ in range(10_000)]
    moved = sum(c.residence_province != c.birth_province for c in cs) / len(cs)
    assert abs(moved - MIGRANT_SHARE) < 0.02
    assert 0.005 < sum(c.deceased for c in cs) / len(cs) < 0.06


def test_drawing_in_an_unknown_province_is_an_error() -> None:
    with pytest.raises(ValueError, match="province"):
        population().draw_existing(random.Random(1), "003")


@given(st.text(ascii_digits, min_size=12, max_size=12))
def test_mask_never_shows_the_middle_digits(cid: str) -> None:
    masked = mask_id(cid)
    assert masked == cid[:3] + "******" + cid[-3:]


@given(st.text(min_size=7))
def test_mask_of_any_text_hides_all_but_the_ends(text: str) -> None:
    masked = mask_id(text)
    assert set(masked[3:-3]) <= {"*"} and len(masked) <= 18


@given(st.text(ascii_digits | st.just("X"), min_size=7, max_size=30))
def test_rejection_messages_never_echo_the_id(text: str) -> None:
    try:
        validate_id(text)
    except InvalidCitizenId as err:
        assert text not in str(err)


def test_names_compare_equal_across_unicode_forms_spacing_and_case() -> None:
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị  Thu Hà")
    assert normalise_name(f"  {nfd.upper()} ") == normalise_name("nguyễn thị thu hà")
    assert normalise_name("Nguyễn Văn An") != normalise_name("Nguyen Van An")
