"""Asks a node whether it serves clients, and how many brokers it lists, with a real Kafka
client's Metadata request (services.kafka.admin); on a secured node it logs in first."""

from __future__ import annotations

import random
import socket
from pathlib import Path
from typing import cast, get_args

from pydantic import SecretStr

from services.kafka import TransportError, count_brokers
from services.security import ClientSecurity, Mechanism, Protocol

HOST = "127.0.0.1"
PROBE_TIMEOUT_S = 3.0  # login and one Metadata answer; a node that takes longer does not serve
Login = tuple[str, str, str]  # mechanism, user, password
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LISTEN_FLOOR = 20000  # listeners' ports are drawn from here up to the outgoing range
MIN_CHOICE = 1000  # fewer ports than this below the outgoing range: let the kernel choose
MAX_TRIES = 200


def _security(login: Login | None, ca_file: Path | None) -> ClientSecurity | None:
    if login is None:
        return None
    mechanism, user, password = login
    if mechanism not in get_args(Mechanism):
        raise ValueError(f"the probe logs in with {get_args(Mechanism)}, not {mechanism}")
    protocol: Protocol = "SASL_SSL" if ca_file is not None else "SASL_PLAINTEXT"
    return ClientSecurity(protocol, cast(Mechanism, mechanism), user, SecretStr(password), ca_file)


def _accepts(host: str, port: int) -> bool:
    """True when something accepts a TCP connection there."""
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def metadata_brokers(
    port: int, host: str = HOST, login: Login | None = None, ca_file: Path | None = None
) -> int:
    """Brokers listed in the node's Metadata answer: registered and unfenced; 0 if no answer.
    With a login the client authenticates (SASL/SCRAM), over TLS trusting ca_file when given."""
    security = _security(login, ca_file)
    if not _accepts(host, port):
        return 0  # nothing listens yet: no client needs to wait out its timeout to say so
    try:
        return count_brokers(f"{host}:{port}", security, PROBE_TIMEOUT_S)
    except TransportError:
        return 0


def port_in_use(port: int, host: str = HOST) -> bool:
    """True if something already listens on host:port (Kafka binds with SO_REUSEADDR too)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _outgoing_floor() -> int:
    """The lowest port the kernel gives outgoing connections (Linux reads it; 32768 elsewhere)."""
    try:
        return int(EPHEMERAL_RANGE.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = HOST) -> int:
    """A port no one listens on, chosen below the ports outgoing connections are given: a
    broker's JVM binds it seconds later, and a client connecting meanwhile cannot take it."""
    floor = _outgoing_floor()
    if floor - LISTEN_FLOOR >= MIN_CHOICE:
        for _ in range(MAX_TRIES):
            port = random.randrange(LISTEN_FLOOR, floor)
            with socket.socket() as probe:
                try:
                    probe.bind((host, port))
                except OSError:
                    continue
                return port
    with socket.socket() as probe:  # no room below the outgoing range: the kernel's choice
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
