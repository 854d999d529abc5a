"""Writing credentials files, readable by their owner only from the first byte: the
provisioning writes them, services only read them (credentials.py)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from services.security.credentials import Credentials

__all__ = ["PRIVATE", "dump_credentials", "write_credentials", "write_private"]

PRIVATE = 0o600


def dump_credentials(credentials: Credentials) -> str:
    """The file's text, passwords in the clear: write it only with write_credentials."""
    data = {
        "protocol": credentials.protocol,
        "mechanism": credentials.mechanism,
        **({"ca_file": str(credentials.ca_file)} if credentials.ca_file else {}),
        "identities": {p: s.get_secret_value() for p, s in credentials.identities.items()},
        **(
            {"signing_keys": {p: k.get_secret_value() for p, k in credentials.signing_keys.items()}}
            if credentials.signing_keys
            else {}
        ),
        **(
            {"run_secret": credentials.run_secret.get_secret_value()}
            if credentials.run_secret
            else {}
        ),
    }
    header = "# ndxsim credentials: SASL identities of one process. Keep private (mode 0600).\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def write_private(path: Path, text: str) -> Path:
    """Write text readable by its owner only, from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), PRIVATE)  # an existing file keeps its mode through O_CREAT
        out.write(text)
    return path


def write_credentials(path: Path, credentials: Credentials) -> Path:
    return write_private(path, dump_credentials(credentials))
