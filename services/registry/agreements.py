"""Legal bases for sharing: who may verify, and which fields each lookup purpose may receive."""

from __future__ import annotations

from services.world import Topology

# Purposes any agency with the verify role may cite; lookups need a named agreement.
GENERAL_VERIFY_PURPOSES = frozenset({"public-service-dossier", "identity-check"})


class LegalBasis:
    """An index of the topology's roles and agreements, built once for the hot path."""

    def __init__(self, topology: Topology) -> None:
        self.requesters = frozenset(topology.agencies())
        self._verify: dict[str, frozenset[str]] = {
            p.id: GENERAL_VERIFY_PURPOSES for p in topology.provinces
        }
        self._fields: dict[tuple[str, str], tuple[str, ...]] = {}
        for m in topology.ministries:
            purposes = frozenset(a.purpose for a in m.agreements)
            if "verify" in m.roles:
                self._verify[m.id] = GENERAL_VERIFY_PURPOSES | purposes
            if "lookup" in m.roles:
                for a in m.agreements:
                    self._fields[(m.id, a.purpose)] = tuple(a.fields)

    def may_verify(self, requester: str, purpose: str) -> bool:
        return purpose in self._verify.get(requester, ())

    def verify_purposes(self, requester: str) -> frozenset[str]:
        return self._verify.get(requester, frozenset())

    def lookup_fields(self, requester: str, purpose: str) -> tuple[str, ...] | None:
        """The fields agreed for this requester and purpose; None when there is no agreement."""
        return self._fields.get((requester, purpose))

    def agreements(self) -> dict[tuple[str, str], tuple[str, ...]]:
        return dict(self._fields)
