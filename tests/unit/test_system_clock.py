"""The production clock tells UTC in whole milliseconds, exactly, for centuries to come."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from novapulse_adapters import system
from novapulse_adapters.system import SystemClock

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
YEAR_2242 = int((datetime(2242, 1, 1, tzinfo=UTC) - EPOCH).total_seconds() * 1000)


def test_the_clock_tells_utc_now_in_whole_milliseconds() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()

    assert now.tzinfo is UTC
    assert now.microsecond % 1000 == 0
    assert before - timedelta(milliseconds=1) <= now <= datetime.now(UTC)


def test_every_millisecond_until_2242_is_told_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    draw = random.Random(7)
    moments = [0, 1, 999, YEAR_2242 - 1, *(draw.randrange(YEAR_2242) for _ in range(100_000))]
    for ms in moments:
        nanoseconds = ms * 1_000_000 + draw.randrange(1_000_000)  # anywhere inside it
        monkeypatch.setattr(system, "time", SimpleNamespace(time_ns=lambda n=nanoseconds: n))

        assert SystemClock().now() - EPOCH == timedelta(milliseconds=ms), ms


def test_one_clock_asked_again_tells_each_new_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SystemClock()
    for ms in (5, 5, 6, 6, 1_000_000, 5):
        nanoseconds = ms * 1_000_000 + 123_456
        monkeypatch.setattr(system, "time", SimpleNamespace(time_ns=lambda n=nanoseconds: n))

        assert clock.now() - EPOCH == timedelta(milliseconds=ms), ms
