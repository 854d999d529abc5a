"""Asks a node over the Kafka protocol itself whether it serves clients, and how many brokers."""

from __future__ import annotations

import socket
import struct

HOST = "127.0.0.1"


def metadata_brokers(port: int, host: str = HOST) -> int:
    """Brokers listed in a Metadata (v1) answer: registered and unfenced; 0 if no answer."""
    request = struct.pack(">hhih", 3, 1, 1, 6) + b"ndxsim" + struct.pack(">i", 0)  # no topics
    try:
        with socket.create_connection((host, port), timeout=2.0) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            with sock.makefile("rb") as stream:
                (size,) = struct.unpack(">i", stream.read(4))
                correlation_id, brokers = struct.unpack_from(">ii", stream.read(size))
    except (OSError, struct.error):
        return 0
    return int(brokers) if correlation_id == 1 else 0


def port_in_use(port: int, host: str = HOST) -> bool:
    """True if something already listens on host:port (Kafka binds with SO_REUSEADDR too)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def free_port(host: str = HOST) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
