"""A record's signature binds it to one agency: the registry refuses what another agency signed,
what nobody signed and what was changed after signing; keys reach only the processes they fit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from services.loop.runtime import Refusal
from services.registry.identity import admit, registry_wrote
from services.security.credentials import Credentials, load_credentials
from services.security.credfile import write_credentials
from services.security.signing import Verifier, key_of, new_run_secret, signature
from services.wire.messages import CivilStatusRegistered, VerificationRequested

SECRET = new_run_secret()
TOPIC = "ndx.verify.requests"


@dataclass
class Rec:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    partition: int = 0
    offset: int = 0


def signed(principal: str, value: bytes, key: bytes | None = b"k", topic: str = TOPIC) -> Rec:
    return Rec(
        topic, key, value, signature(principal, key_of(SECRET, principal), topic, key, value)
    )


def request(requester: str) -> VerificationRequested:
    return VerificationRequested("r-1", requester, "001", "A B", "2000-01-01", "p", "s", 1)


def test_a_request_signed_by_the_agency_it_names_is_admitted() -> None:
    assert admit(Verifier(SECRET), signed("ministry.tax", b"v"), request("ministry.tax")) is None


def test_a_request_signed_by_one_agency_in_another_agencys_name_is_refused() -> None:
    refusal = admit(Verifier(SECRET), signed("province.001", b"v"), request("ministry.vss"))

    assert refusal == Refusal("forged_requester", "province.001", "verify")


def test_an_unsigned_or_altered_record_is_refused_without_trusting_its_claim() -> None:
    verifier = Verifier(SECRET)
    altered = signed("ministry.tax", b"v")
    altered.value = b"w"
    unsigned = Rec(TOPIC, b"k", b"v", [])

    for rec in (altered, unsigned):
        assert admit(verifier, rec, request("ministry.tax")) == Refusal(
            "unsigned_or_forged", "unknown", "verify"
        )


def test_a_signature_made_with_another_run_secret_is_refused() -> None:
    other = new_run_secret()
    value = b"v"
    rec = Rec(
        TOPIC,
        None,
        value,
        signature("ministry.tax", key_of(other, "ministry.tax"), TOPIC, None, value),
    )

    assert Verifier(SECRET).signer(rec.topic, rec.key, rec.value, rec.headers) is None


def test_a_signature_does_not_carry_over_to_another_topic() -> None:
    rec = signed("ministry.justice", b"v", topic="ndx.civil.events")
    rec.topic = TOPIC

    assert Verifier(SECRET).signer(rec.topic, rec.key, rec.value, rec.headers) is None


def test_a_death_record_is_admitted_only_when_signed_by_the_ministry_it_names() -> None:
    event = CivilStatusRegistered("e-1", "001", "DECEASED", "ministry.justice", 1)
    verifier = Verifier(SECRET)

    assert admit(verifier, signed("ministry.justice", b"v"), event) is None
    forged = admit(verifier, signed("ministry.health", b"v"), event)
    assert forged == Refusal("forged_requester", "ministry.health", "civil_event")


def test_the_replay_trusts_only_changes_the_registry_signed() -> None:
    verifier = Verifier(SECRET)

    assert registry_wrote(verifier, signed("registry", b"c", topic="ndx.registry.changes"))
    assert not registry_wrote(verifier, signed("province.001", b"c", topic="ndx.registry.changes"))
    assert not registry_wrote(verifier, Rec("ndx.registry.changes", b"k", b"c", []))


def test_process_files_hold_their_own_keys_and_only_the_registrys_holds_the_run_secret(
    tmp_path: Path,
) -> None:
    whole = Credentials(
        identities={p: SecretStr("pw") for p in ("registry", "province.001", "province.079")},
        run_secret=SecretStr(SECRET),
    )
    province = load_credentials(
        write_credentials(tmp_path / "p.yaml", whole.only(["province.001"]))
    )
    registry = load_credentials(
        write_credentials(tmp_path / "r.yaml", whole.only(["registry"], keep_run_secret=True))
    )

    assert province.run_secret is None and province.verifier() is None
    assert set(province.signing_keys) == {"province.001"}
    key = province.security_for("province.001").signing_key
    assert key is not None and key.get_secret_value() == key_of(SECRET, "province.001")
    assert registry.verifier() is not None
    assert SECRET not in repr(registry) and SECRET not in repr(registry.verifier())
