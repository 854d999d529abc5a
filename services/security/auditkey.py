"""The audit key: NDX_AUDIT_KEY when given, else one generated per installation, never shown."""

from __future__ import annotations

import os
import secrets
import stat
import sys
from pathlib import Path

from services.config import REPO_ROOT, Settings, SettingsError

KEY_FILE = REPO_ROOT / ".cache" / "secrets" / "audit.key"  # .cache/ is git-ignored
KEY_BYTES = 32


def audit_key(settings: Settings, path: Path = KEY_FILE) -> bytes:
    """The key of the citizen-id hash in audit records; every side of a run resolves the same."""
    if settings.audit_key is not None:
        return settings.audit_key.get_secret_value().encode()
    return installation_key(path)


def installation_key(path: Path = KEY_FILE) -> bytes:
    """Read the installation's key, generating it (mode 0600) on first use."""
    try:
        if not path.exists():
            _generate(path)
        return _read(path)
    except OSError as exc:
        raise SettingsError(
            f"{path}: cannot keep the audit key there ({exc.strerror or exc}); "
            "set NDX_AUDIT_KEY instead"
        ) from None


def _generate(path: Path) -> None:
    """Write a fresh key; when processes race on a first start, the first link wins for all."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, (secrets.token_hex(KEY_BYTES) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def _read(path: Path) -> bytes:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        os.chmod(path, 0o600)  # a copy or an editor loosened it: only the owner reads a key
    text = path.read_bytes().strip()
    if len(text) != 2 * KEY_BYTES or not all(c in b"0123456789abcdef" for c in text):
        raise SettingsError(
            f"{path}: not an audit key ({2 * KEY_BYTES} hex digits expected); "
            "delete it to generate a new one, or set NDX_AUDIT_KEY"
        )
    return text


def main() -> int:
    """`make setup`: make sure the installation has its key; says where, never what."""
    try:
        installation_key()
    except SettingsError as exc:
        print(f"audit key: error: {exc}", file=sys.stderr)
        return 2
    print(f"audit key in {KEY_FILE.relative_to(REPO_ROOT)} (mode 0600; NDX_AUDIT_KEY overrides it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
