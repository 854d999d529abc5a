"""Pages people read: the run report, capacity and comparison as self-contained HTML with plotly."""

from __future__ import annotations

from loadtests.pages.bulk import bulk_verdict
from loadtests.pages.compare import summarize, write_compare_html
from loadtests.pages.html import write_html

__all__ = ["bulk_verdict", "summarize", "write_compare_html", "write_html"]
