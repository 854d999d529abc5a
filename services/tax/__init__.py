"""The tax authority's reconciler (Directive 18/CT-TTg): the sellers e-commerce platforms share,
verified against the population database in bulk, chunk by chunk, at the design's pace and on
its lane, and published as what the authority found."""

from __future__ import annotations

from services.tax.bulk import BulkClient, ChunkResult
from services.tax.reconcile import admit_share, reconcile_share, request_ids
from services.tax.tally import tally

__all__ = ["BulkClient", "ChunkResult", "admit_share", "reconcile_share", "request_ids", "tally"]
