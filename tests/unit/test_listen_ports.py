"""Ports chosen for listeners (brokers, services) lie below the ports the kernel gives outgoing
connections, so a client connecting between the choice and the bind never takes one."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from loadtests.cluster import probe
from loadtests.stack.serviceproc import free_port


def range_file(tmp_path: Path, low: int, high: int) -> Path:
    path = tmp_path / "ip_local_port_range"
    path.write_text(f"{low}\t{high}\n", encoding="ascii")
    return path


def test_a_listener_port_is_below_the_outgoing_range_and_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probe, "EPHEMERAL_RANGE", range_file(tmp_path, 32768, 60999))
    ports = {free_port() for _ in range(50)}
    assert all(probe.LISTEN_FLOOR <= p < 32768 for p in ports)
    assert len(ports) > 40  # drawn at random: concurrent choosers rarely meet
    with socket.socket() as s:
        s.bind((probe.HOST, ports.pop()))  # nobody holds it


def test_a_port_someone_listens_on_is_never_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probe, "EPHEMERAL_RANGE", range_file(tmp_path, 32768, 60999))
    with socket.socket() as held:
        held.bind((probe.HOST, 0))
        taken = held.getsockname()[1]
        monkeypatch.setattr(probe, "LISTEN_FLOOR", taken)  # the only ports left: it and above
        monkeypatch.setattr(probe, "MIN_CHOICE", 1)
        monkeypatch.setattr(probe, "_outgoing_floor", lambda: taken + 2)
        assert taken not in {probe.free_port() for _ in range(20)}


def test_with_no_room_below_the_outgoing_range_the_kernel_chooses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probe, "EPHEMERAL_RANGE", range_file(tmp_path, 1024, 65535))
    port = probe.free_port()
    assert 1024 <= port <= 65535
    monkeypatch.setattr(probe, "EPHEMERAL_RANGE", tmp_path / "absent")
    assert probe.free_port() > 0  # no such file (not Linux): 32768 is assumed
