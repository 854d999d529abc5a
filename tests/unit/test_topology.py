"""Topology files load, agree with the shipped data, and broken ones say where they are broken."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.world import refdata
from services.world.topology import Topology, TopologyError, load_topology

pytestmark = pytest.mark.unit

TOPOLOGIES = Path(__file__).resolve().parents[2] / "loadtests" / "topologies"


def _load(name: str) -> Topology:
    return load_topology(TOPOLOGIES / name)


def _broken(tmp_path: Path, edit: dict[str, object] | None = None, text: str | None = None) -> str:
    """The error message for the demo topology after an edit (or for raw text)."""
    path = tmp_path / "broken.yaml"
    if text is None:
        raw = yaml.safe_load((TOPOLOGIES / "demo.yaml").read_text(encoding="utf-8"))
        for where, value in (edit or {}).items():
            *parents, last = where.split("/")
            node = raw
            for key in parents:
                node = node[int(key)] if key.isdigit() else node[key]
            if value is None:
                del node[last]
            else:
                node[last] = value
        text = yaml.safe_dump(raw, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TopologyError) as err:
        load_topology(path)
    return str(err.value)


def test_the_2024_topology_has_63_provinces_and_18_ministries() -> None:
    t = _load("vn-2024.yaml")
    assert len(t.provinces) == 63 and len(t.ministries) == 18
    assert len(t.agencies()) == 81 and len(set(t.agencies())) == 81


def test_the_2024_province_populations_are_those_of_the_data_file() -> None:
    t = _load("vn-2024.yaml")
    csv = {p.code: p.population for p in refdata.provinces_63()}
    assert {p.code: p.population for p in t.provinces} == csv
    assert sum(p.population for p in t.provinces) == sum(csv.values()) == 100_309_340


def test_the_2025_topology_merges_every_old_province_exactly_once() -> None:
    t = _load("vn-2025.yaml")
    assert len(t.provinces) == 34 and len(t.ministries) == 18
    old = [c for p in t.provinces for c in p.merged_from]
    assert sorted(old) == sorted(refdata.province_codes())
    assert all(p.code == p.merged_from[0] for p in t.provinces)
    assert {p.code: p.population for p in t.provinces} == {
        row.merged_from[0]: row.population for row in refdata.provinces_34()
    }


def test_the_demo_topology_is_three_provinces_and_three_ministries() -> None:
    t = _load("demo.yaml")
    assert [p.code for p in t.provinces] == ["001", "079", "092"]
    assert [m.id for m in t.ministries] == ["ministry.vss", "ministry.tax", "ministry.justice"]


@pytest.mark.parametrize("name", ["vn-2024.yaml", "vn-2025.yaml", "demo.yaml"])
def test_every_lookup_ministry_has_a_minimal_agreement(name: str) -> None:
    t = _load(name)
    for m in t.ministries:
        if "lookup" in m.roles:
            assert m.agreements
            for a in m.agreements:
                assert 0 < len(a.fields) < 6
                assert t.agreement_for(m.id, a.purpose) == a


def test_agreements_are_found_only_for_their_agency_and_purpose() -> None:
    t = _load("vn-2024.yaml")
    vss = t.agreement_for("ministry.vss", "social-insurance-enrolment")
    assert vss is not None and vss.fields == ["full_name", "birth_date", "residence_province"]
    assert t.agreement_for("ministry.vss", "curiosity") is None
    assert t.agreement_for("ministry.banks", "social-insurance-enrolment") is None
    assert t.agreement_for("province.001", "social-insurance-enrolment") is None


def test_province_weights_follow_population_and_sum_to_one() -> None:
    t = _load("demo.yaml")
    w = t.province_weights()
    assert sum(w.values()) == pytest.approx(1.0)
    assert w["province.079"] > w["province.001"] > w["province.092"]
    assert w["province.092"] == pytest.approx(1_258_880 / 19_302_680)
    assert sum(t.ministry_weights().values()) == pytest.approx(1.0)


def test_a_misspelt_field_is_named_with_its_file_and_path(tmp_path: Path) -> None:
    msg = _broken(tmp_path, {"ministries/2/wieght": 3})
    assert "broken.yaml: ministries[2].wieght: Extra inputs are not permitted" in msg


def test_a_non_positive_weight_is_named_with_its_file_and_path(tmp_path: Path) -> None:
    msg = _broken(tmp_path, {"ministries/1/weight": 0})
    assert "broken.yaml: ministries[1].weight: Input should be greater than 0" in msg


def test_an_agreement_may_share_only_citizen_fields(tmp_path: Path) -> None:
    msg = _broken(tmp_path, {"ministries/0/agreements/0/fields": ["full_name", "password"]})
    assert "broken.yaml: ministries[0].agreements[0].fields[1]:" in msg


def test_a_lookup_ministry_without_agreement_is_refused(tmp_path: Path) -> None:
    msg = _broken(tmp_path, {"ministries/0/agreements": None})
    assert "broken.yaml: ministries[0]: a ministry with the lookup role needs" in msg


def test_duplicate_province_codes_and_ids_are_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load((TOPOLOGIES / "demo.yaml").read_text(encoding="utf-8"))
    raw["provinces"].append(raw["provinces"][0])
    raw["ministries"].append(raw["ministries"][1])
    msg = _broken(tmp_path, text=yaml.safe_dump(raw, allow_unicode=True))
    assert "provinces: duplicate province code: 001" in msg
    assert "ministries: duplicate ministry id: ministry.tax" in msg


def test_a_province_id_must_match_its_code(tmp_path: Path) -> None:
    msg = _broken(tmp_path, {"provinces/1/id": "province.080"})
    assert "broken.yaml: provinces[1]: id must be 'province.079'" in msg


def test_an_unquoted_province_code_is_refused(tmp_path: Path) -> None:
    msg = _broken(tmp_path, {"provinces/0/code": 1})
    assert "broken.yaml: provinces[0].code: Input should be a valid string" in msg


def test_yaml_syntax_errors_name_the_file_and_line(tmp_path: Path) -> None:
    msg = _broken(tmp_path, text="name: demo\nprovinces: [\n  {id: x\n")
    assert msg.startswith(f"{tmp_path / 'broken.yaml'}: invalid YAML at line")


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    text = (TOPOLOGIES / "demo.yaml").read_text(encoding="utf-8") + "ministry_share: 0.9\n"
    assert "duplicate key 'ministry_share'" in _broken(tmp_path, text=text)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match=r"nowhere\.yaml: cannot read"):
        load_topology(tmp_path / "nowhere.yaml")
