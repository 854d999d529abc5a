"""Asks a node over the Kafka protocol itself whether it serves clients, and how many brokers.

On a secured node the probe first logs in with SASL/SCRAM (scramp does the SCRAM arithmetic).
"""

from __future__ import annotations

import socket
import ssl
import struct
from pathlib import Path
from typing import BinaryIO

from scramp import ScramClient, ScramException

HOST = "127.0.0.1"
METADATA, SASL_HANDSHAKE, SASL_AUTHENTICATE = 3, 17, 36
CLIENT_ID = b"ndxsim"
Login = tuple[str, str, str]  # mechanism, user, password


class ProbeRefused(Exception):
    """The node answered but refused the probe's request."""


def _call(sock: socket.socket, stream: BinaryIO, api: int, version: int, body: bytes) -> bytes:
    """One request on an open connection (header v1); the response body after its id."""
    header = struct.pack(">hhih", api, version, api, len(CLIENT_ID)) + CLIENT_ID
    request = header + body
    sock.sendall(struct.pack(">i", len(request)) + request)
    (size,) = struct.unpack(">i", stream.read(4))
    response = stream.read(size)
    if struct.unpack_from(">i", response)[0] != api:
        raise ProbeRefused("response to another request")
    return response[4:]


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def _login(sock: socket.socket, stream: BinaryIO, login: Login) -> None:
    """SaslHandshake v1, then the SCRAM exchange in SaslAuthenticate v0 frames."""
    mechanism, user, password = login
    (error,) = struct.unpack_from(">h", _call(sock, stream, SASL_HANDSHAKE, 1, _string(mechanism)))
    if error:
        raise ProbeRefused(f"mechanism {mechanism} refused (error {error})")
    scram = ScramClient([mechanism], user, password)

    def exchange(message: str) -> str:
        data = message.encode()
        body = _call(sock, stream, SASL_AUTHENTICATE, 0, struct.pack(">i", len(data)) + data)
        error, text_len = struct.unpack_from(">hh", body)
        if error:
            raise ProbeRefused(f"authentication failed (error {error})")
        offset = 4 + max(text_len, 0)
        (length,) = struct.unpack_from(">i", body, offset)
        return body[offset + 4 : offset + 4 + length].decode()

    try:
        scram.set_server_first(exchange(scram.get_client_first()))
        scram.set_server_final(exchange(scram.get_client_final()))
    except ScramException as exc:
        raise ProbeRefused(f"SCRAM exchange failed: {exc}") from None


def _connect(host: str, port: int, ca_file: Path | None) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=2.0)
    if ca_file is None:
        return sock
    return ssl.create_default_context(cafile=str(ca_file)).wrap_socket(sock, server_hostname=host)


def metadata_brokers(
    port: int, host: str = HOST, login: Login | None = None, ca_file: Path | None = None
) -> int:
    """Brokers listed in a Metadata (v1) answer: registered and unfenced; 0 if no answer.
    With ca_file the connection is TLS, trusting that CA."""
    try:
        with _connect(host, port, ca_file) as sock, sock.makefile("rb") as stream:
            if login is not None:
                _login(sock, stream, login)
            body = _call(sock, stream, METADATA, 1, struct.pack(">i", 0))  # no topics
            (brokers,) = struct.unpack_from(">i", body)
    except (OSError, struct.error, ProbeRefused):
        return 0
    return int(brokers)


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
