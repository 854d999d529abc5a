"""`make up` starts Prometheus with ndxsim's console page and says where it is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from loadtests.stack.components import CONSOLE_LIBRARIES, CONSOLE_PAGE, CONSOLES, components

TOPOLOGY = Path(__file__).resolve().parents[2] / "loadtests" / "topologies" / "demo.yaml"


def test_the_stack_prometheus_serves_the_console_page_and_lists_its_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    prometheus = next(c for c in components("127.0.0.1:9", TOPOLOGY) if c.name == "prometheus")
    command = prometheus.command()
    assert f"--web.console.templates={CONSOLES}" in command
    assert f"--web.console.libraries={CONSOLE_LIBRARIES}" in command
    assert any(url.endswith(CONSOLE_PAGE) for url in prometheus.urls)
    assert (CONSOLES / Path(CONSOLE_PAGE).name).is_file()
    assert {p.name for p in CONSOLE_LIBRARIES.glob("*.lib")} == {"prom.lib", "ndx.lib"}
