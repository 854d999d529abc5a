"""A ministry that keeps a change-fed replica answers repeat verifications without the registry."""

from __future__ import annotations

import asyncio
import time

from services.ministry.replica import REPLICA, CitizenReplica
from services.process import metrics
from services.requester import AgencyClient, Result
from services.wire import Outcome, Request, VerificationAnswered, VerificationRequested

__all__ = ["ask"]


async def ask(
    client: AgencyClient, replica: CitizenReplica | None, request: Request, intended: float
) -> Result:
    """From the replica when it holds the citizen, else from the registry (and remember)."""
    if replica is None or not isinstance(request, VerificationRequested):
        return await client.request(request, intended)
    local = replica.answer(request, time.time_ns() // 1000)
    if local is None:
        result = await client.request(request, intended)
        if isinstance(result.answer, VerificationAnswered):
            replica.learn(request, result.answer)
        return result
    latency = asyncio.get_running_loop().time() - intended
    metrics.transactions(client.agency, REPLICA, "verify", local.outcome, "requester").inc()
    metrics.request_duration(client.agency, "verify").observe(latency)
    return Result(Outcome(local.outcome), local, latency)
