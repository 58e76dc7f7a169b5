"""The garbage collector's pace in NovaPulse's own processes (`novapulse serve`, `novapulse
worker`); a service that embeds the core keeps its own."""

from __future__ import annotations

import gc


def pace_collector(young_threshold: int) -> None:
    """Collect the young generation every `young_threshold` allocations instead of Python's
    700 (0 leaves Python's pace); the older generations keep their own thresholds.

    At Python's pace, the objects of jobs and requests in flight (each lives a few milliseconds,
    across thousands of allocations) outlive two young collections, so they count as long-lived
    and keep bringing on full collections, which walk every object the process holds. On the
    embedded default, whose records live in the process, that was 1.3 s of a 6 s webhook
    benchmark of 20,000 deliveries (13 full collections; 1 at 10,000). A cycle of garbage waits
    for at most `young_threshold` allocations more before it is freed."""
    if young_threshold:
        _, middle, old = gc.get_threshold()
        gc.set_threshold(young_threshold, middle, old)
