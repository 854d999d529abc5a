"""Repeated warnings are rate-limited, so an outage costs a few log lines, not megabytes."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

REPEAT_INTERVAL_S = 30.0
MAX_KINDS = 1024  # distinct warnings remembered; the oldest is forgotten beyond that
DIGITS = re.compile(r"\d+")

Key = tuple[str, int, str]


@dataclass(slots=True)
class _Seen:
    since: float  # when the last line of this kind was let through
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    """Lets one warning of a kind through per interval and counts the repeats it drops.

    A kind is the logger, the level and the message with its numbers masked: the same failure
    seen by 63 agencies, or on another port, offset or node id, is one kind. The next line of a
    kind says how many were dropped; flush() reports the rest (e.g. when a broker comes back).
    """

    def __init__(
        self, interval_s: float = REPEAT_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval_s, self.clock = interval_s, clock
        self._seen: OrderedDict[Key, _Seen] = OrderedDict()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or getattr(record, "ndx_summary", False):
            return True
        message = record.getMessage()
        key = (record.name, record.levelno, DIGITS.sub("#", message))
        now = self.clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen.since < self.interval_s:
                seen.suppressed += 1
                return False
            if seen is not None and seen.suppressed:
                record.msg = (
                    f"{message} [{seen.suppressed} more like this in the last "
                    f"{now - seen.since:.0f}s not shown]"
                )
                record.args = ()
            self._seen[key] = _Seen(now)
            self._seen.move_to_end(key)
            while len(self._seen) > MAX_KINDS:
                self._seen.popitem(last=False)
        return True

    def flush(self) -> list[tuple[Key, int]]:
        """Kinds with repeats not yet reported, and how many; their counts start again."""
        with self._lock:
            out = [(k, s.suppressed) for k, s in self._seen.items() if s.suppressed]
            for key, _n in out:
                self._seen[key].suppressed = 0
        return out


def install(handler: logging.Handler, interval_s: float = REPEAT_INTERVAL_S) -> RepeatFilter:
    """Put one RepeatFilter on a handler: it sees every logger's records, aiokafka's too."""
    for old in [f for f in handler.filters if isinstance(f, RepeatFilter)]:
        handler.removeFilter(old)
    repeat = RepeatFilter(interval_s)
    handler.addFilter(repeat)
    return repeat


def report_suppressed(log: logging.Logger) -> int:
    """One line per kind of warning whose repeats were dropped since it was last shown."""
    total = 0
    for handler in logging.getLogger().handlers:
        for repeat in [f for f in handler.filters if isinstance(f, RepeatFilter)]:
            for (name, level, text), count in repeat.flush():
                total += count
                log.log(
                    level,
                    "%d more like this from %s not shown: %s",
                    count,
                    name,
                    text[:200],
                    extra={"ndx_summary": True},
                )
    return total
