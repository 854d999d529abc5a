"""The Kafka client libraries a design may build its clients on, as test parameters: the same
integration test plays the baseline design on each."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.config import REPO_ROOT, Library

LIBRARIES: tuple[Library, ...] = ("aiokafka", "librdkafka")
BASELINE = REPO_ROOT / "deploy" / "designs" / "baseline.yaml"

# Parametrizes a test over both libraries, its ids naming the library.
each_library = pytest.mark.parametrize("library", LIBRARIES)


def design_on(library: str, directory: Path) -> Path:
    """The baseline design with every client of the run on `library`, as a file in directory."""
    text = BASELINE.read_text(encoding="utf-8").replace("name: baseline\n", f"name: {library}\n")
    path = directory / f"baseline-{library}.yaml"
    path.write_text(f"{text.rstrip()}\nclients: {{library: {library}}}\n", encoding="utf-8")
    return path
