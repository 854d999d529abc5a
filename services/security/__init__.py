"""Who may do what: SASL identities, the ACL table, per-agency record signing and the audit key."""

from __future__ import annotations

from services.security.access import (
    ADMIN,
    DRIVER,
    MONITOR,
    REGISTRY,
    AclRow,
    acl_table,
    principals,
    process_identities,
)
from services.security.credentials import (
    ClientSecurity,
    Credentials,
    CredentialsError,
    Mechanism,
    Protocol,
    credentials_of,
    load_credentials,
)
from services.security.credfile import write_credentials, write_private
from services.security.signing import Verifier, new_run_secret, signature, unsigned

__all__ = [
    "ADMIN",
    "DRIVER",
    "MONITOR",
    "REGISTRY",
    "AclRow",
    "ClientSecurity",
    "Credentials",
    "CredentialsError",
    "Mechanism",
    "Protocol",
    "Verifier",
    "acl_table",
    "credentials_of",
    "load_credentials",
    "new_run_secret",
    "principals",
    "process_identities",
    "signature",
    "unsigned",
    "write_credentials",
    "write_private",
]
