"""The real clock and the id generator used in production."""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime

_RANDOM_BITS = 80


class SystemClock:
    """UTC, to the millisecond (see `Clock`)."""

    def now(self) -> datetime:
        # Whole milliseconds as a float of seconds land on their exact microsecond until the
        # year 2242 (half a unit of the float's last place stays below half a microsecond);
        # three times as fast as truncating `datetime.now` with `replace`, and the API and
        # the workers ask for the time several times per request and per job.
        return datetime.fromtimestamp(time.time_ns() // 1_000_000 / 1000, UTC)


class TimeOrderedIds:
    """32 hex characters: 48 bits of Unix milliseconds, then 80 bits that start random and count
    up within one millisecond, so ids sort in creation order within a process (as UUIDv7 does)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def new_id(self) -> str:
        with self._lock:
            ms = max(time.time_ns() // 1_000_000, self._last_ms)
            if ms == self._last_ms:
                self._sequence += 1
            else:
                self._last_ms = ms
                self._sequence = secrets.randbits(_RANDOM_BITS - 1)
            return f"{ms:012x}{self._sequence:020x}"
