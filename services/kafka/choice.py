"""A run's clients are built on the client library its design names: aiokafka unless it says
librdkafka."""

from __future__ import annotations

from services.kafka.bus import ClientTuning, KafkaTransport
from services.kafka.rdkafka import NativeTransport
from services.security import ClientSecurity

__all__ = ["ClusterTransport", "transport_for"]

# Either transport (NativeTransport is a KafkaTransport on other clients): the Transport
# protocol and what callers of a real cluster use besides (as_principal, off_path, tuning).
ClusterTransport = KafkaTransport


def transport_for(
    bootstrap: str,
    tuning: ClientTuning | None = None,
    security: ClientSecurity | None = None,
) -> ClusterTransport:
    """The transport on `tuning.library` (aiokafka by default)."""
    tuning = tuning or ClientTuning()
    if tuning.library == "librdkafka":
        return NativeTransport(bootstrap, tuning, security)
    return KafkaTransport(bootstrap, tuning, security)
