"""Who a process may be on the cluster: SASL identities from a private credentials file.

The file (YAML, mode 0600) holds only the identities one process needs, e.g.:

    protocol: SASL_PLAINTEXT      # or SASL_SSL, then ca_file names the CA that signed the brokers
    mechanism: SCRAM-SHA-512
    identities:                   # principal -> password
      province.001: "…"
      province.079: "…"
    signing_keys:                 # principal -> its record-signing key (hex); see signing.py
      province.001: "…"
      province.079: "…"

The registry's file holds `run_secret` instead of signing keys: it derives every key from it.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from services.config import Settings
from services.security.signing import Verifier, key_of

Protocol = Literal["SASL_PLAINTEXT", "SASL_SSL"]
Mechanism = Literal["SCRAM-SHA-512"]
PRINCIPAL = r"^[a-z][a-z0-9_.-]*$"


class CredentialsError(ValueError):
    """A credentials file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class ClientSecurity:
    """How one client authenticates: everything a Kafka client needs, for one principal."""

    protocol: Protocol
    mechanism: Mechanism
    principal: str
    password: SecretStr
    ca_file: Path | None = None
    signing_key: SecretStr | None = None  # hex; a producer signs each record with it when set


class Credentials(BaseModel):
    """Identities one process may take on the cluster, with how to reach its SASL listener."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    protocol: Protocol = "SASL_PLAINTEXT"
    mechanism: Mechanism = "SCRAM-SHA-512"
    ca_file: Path | None = Field(None, description="CA certificate (PEM) for SASL_SSL.")
    identities: dict[str, SecretStr] = Field(min_length=1)
    signing_keys: dict[str, SecretStr] = Field(default_factory=dict)
    run_secret: SecretStr | None = Field(None, description="Derives every signing key (hex).")

    @field_validator("signing_keys")
    @classmethod
    def _hex_keys(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        bad = [p for p, s in v.items() if not re.fullmatch(r"[0-9a-f]{64}", s.get_secret_value())]
        if bad:
            raise ValueError(f"signing keys must be 64 hex digits: {bad}")
        return v

    @field_validator("run_secret")
    @classmethod
    def _hex_secret(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not re.fullmatch(r"[0-9a-f]{64}", v.get_secret_value()):
            raise ValueError("must be 64 hex digits")
        return v

    @field_validator("identities")
    @classmethod
    def _principals(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        bad = [p for p in v if not re.fullmatch(PRINCIPAL, p)]
        if bad:
            raise ValueError(f"principal names must match {PRINCIPAL}: {bad}")
        empty = [p for p, secret in v.items() if not secret.get_secret_value()]
        if empty:
            raise ValueError(f"empty password for {empty}")
        return v

    def security_for(self, principal: str) -> ClientSecurity:
        """The client settings to act as `principal`; KeyError naming it when absent."""
        try:
            password = self.identities[principal]
        except KeyError:
            have = sorted(self.identities)
            raise KeyError(f"no identity for {principal!r} (have {have})") from None
        return ClientSecurity(
            self.protocol,
            self.mechanism,
            principal,
            password,
            self.ca_file,
            self.signing_key(principal),
        )

    def signing_key(self, principal: str) -> SecretStr | None:
        """The key `principal` signs with: given, or derived from the run secret; else None."""
        if (given := self.signing_keys.get(principal)) is not None:
            return given
        if self.run_secret is None:
            return None
        return SecretStr(key_of(self.run_secret.get_secret_value(), principal))

    def verifier(self) -> Verifier | None:
        """Checks any principal's signature; only a holder of the run secret has one."""
        secret = self.run_secret
        return None if secret is None else Verifier(secret.get_secret_value())

    def only(self, principals: Iterable[str], keep_run_secret: bool = False) -> Credentials:
        """The same settings holding just these identities and their signing keys (a process
        gets no more); the run secret stays only when asked (the registry's file)."""
        wanted = list(principals)
        missing = [p for p in wanted if p not in self.identities]
        if missing:
            raise KeyError(f"no identity for {missing}")
        keys = {p: k for p in wanted if (k := self.signing_key(p)) is not None}
        return self.model_copy(
            update={
                "identities": {p: self.identities[p] for p in wanted},
                "signing_keys": keys,
                "run_secret": self.run_secret if keep_run_secret else None,
            }
        )


def credentials_of(settings: Settings) -> Credentials | None:
    """The identities NDX_CREDENTIALS names; None when the cluster is plaintext."""
    return None if settings.credentials is None else load_credentials(settings.credentials)


def load_credentials(path: Path) -> Credentials:
    """Read and validate a credentials file; refuse one that others may read."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CredentialsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if mode & 0o077:
        raise CredentialsError(
            f"{path}: mode {mode:04o} lets other users read the passwords; chmod 600 {path}"
        )
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise CredentialsError(
            f"{path}: invalid YAML{at}"
        ) from None  # no text: it may hold secrets
    try:
        return Credentials.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{path}: {where}: {msg}" if where else f"{path}: {msg}")
        raise CredentialsError("\n".join(problems)) from None
