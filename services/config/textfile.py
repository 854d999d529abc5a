"""Reading a file a person wrote: every way it can fail becomes one sentence, not a traceback."""

from __future__ import annotations

from pathlib import Path


class UnreadableFile(ValueError):
    """The file is missing, not a file, or not UTF-8 text; the message says which."""


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise UnreadableFile(
            f"not UTF-8 text: byte {exc.object[exc.start]:#04x} at offset {exc.start} "
            f"(line {line}); save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise UnreadableFile(f"cannot read: {exc}") from None
