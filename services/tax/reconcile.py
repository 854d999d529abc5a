"""What the tax authority does with one platform share: its sellers verified in chunks, then
published as what it found, each seller once."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Collection

from services.kafka import Record
from services.loop import DeadLetter, Outgoing, Refusal
from services.security import Verifier
from services.tax.bulk import BulkClient, ChunkResult, UnansweredChunk
from services.wire import (
    RECONCILED,
    BulkItem,
    Message,
    SellerReconciled,
    SellersReconciled,
    SellersShared,
)

__all__ = ["admit_share", "reconcile_share", "request_ids"]

UNKNOWN = "unknown"


def admit_share(verifier: Verifier, rec: Record, message: Message) -> Refusal | None:
    """A share counts only when signed by the platform it names."""
    signer = verifier.signer(rec.topic, rec.key, rec.value, rec.headers or ())
    if signer is None:
        return Refusal("unsigned_or_forged", UNKNOWN, "share_sellers")
    if isinstance(message, SellersShared) and signer != message.platform:
        return Refusal("forged_platform", signer, "share_sellers")
    return None


def request_ids(share_id: str, chunks: int) -> list[str]:
    """Bulk request ids of a share: the same whenever the share is read again, so the registry
    answers a re-read from memory; bounded whatever the share id's length."""
    digest = hashlib.blake2b(share_id.encode(), digest_size=12).hexdigest()
    return [f"tax:{digest}:{n}" for n in range(chunks)]


async def reconcile_share(
    share: SellersShared,
    client: BulkClient,
    platforms: Collection[str],
    purpose: str,
    chunk: int,
) -> list[Outgoing]:
    """Every seller of the share verified (chunks in parallel within the client's limits) and
    published once on the reconciliation topic."""
    taken = time.time_ns() // 1000
    if share.platform not in platforms:
        raise DeadLetter("unknown_platform", f"{share.platform[:64]!r} is not a platform")
    refs = [s.seller_ref for s in share.sellers]
    if not refs:
        raise DeadLetter("no_sellers", "a share with no sellers")
    if len(set(refs)) != len(refs):
        raise DeadLetter("duplicate_sellers", f"{len(refs) - len(set(refs))} seller(s) repeated")
    items = [BulkItem(s.seller_ref, s.citizen_id, s.full_name, s.birth_date) for s in share.sellers]
    parts = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    ids = request_ids(share.share_id, len(parts))
    try:
        results: list[ChunkResult] = await asyncio.gather(
            *(client.verify(rid, purpose, part) for rid, part in zip(ids, parts, strict=True))
        )
    except UnansweredChunk as exc:
        raise DeadLetter("unanswered", str(exc)) from None
    answers = {ref: a for r in results for ref, a in r.answers.items()}
    last = max(results, key=lambda r: r.got_us)
    sellers = [
        SellerReconciled(
            s.seller_ref,
            s.kind,
            answers[s.seller_ref].outcome,
            answers[s.seller_ref].citizen_version,
        )
        for s in share.sellers
    ]
    found = SellersReconciled(
        share.share_id,
        share.platform,
        share.job,
        sellers,
        share.shared_at_us,
        time.time_ns() // 1000,
        chunks=len(parts),
        resent_chunks=sum(r.attempts - 1 for r in results),
        half_answered_chunks=sum(r.half_answered for r in results),
        duplicate_answers=sum(client.duplicates_of.pop(rid, 0) for rid in ids),
        taken_at_us=taken,
        sent_at_us=last.sent_us,
        registry_received_us=last.registry_received_us,
        registry_answered_us=last.registry_answered_us,
        answered_at_us=last.got_us,
    )
    return [Outgoing(RECONCILED.name, found, share.share_id.encode())]
