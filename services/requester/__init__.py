"""Requesting agencies: their clients, pending requests and the hosts that run many of them."""

from __future__ import annotations

from services.requester.agency import AgencyClient
from services.requester.pending import Result, RetryPolicy
from services.requester.startup import host_agencies

__all__ = ["AgencyClient", "Result", "RetryPolicy", "host_agencies"]
