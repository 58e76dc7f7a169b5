"""What the clock-driven Redis adapters share: error translation, times as integers, GC TTLs.

The adapters judge expiry by their injected clock, never by Redis: each value carries its
`expires_at` (epoch microseconds) and the scripts compare it with the caller's `now`. Redis's
own TTLs only collect garbage: they are relative (PEXPIRE), the lifetime left by the injected
clock plus `GC_GRACE`, so a server whose clock differs from the API nodes' never drops a live
value, and tests on a frozen clock in the past see nothing vanish.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from novapulse_core.domain.errors import Unavailable

__all__ = [
    "GC_GRACE",
    "SET_UNLESS_LIVE",
    "UNREACHABLE",
    "expiring_value",
    "gc_ttl_ms",
    "live_payload",
    "micros",
    "moment",
    "text",
    "translated",
    "unavailable",
]

GC_GRACE = timedelta(minutes=1)
"""How long past its expiry (by the injected clock) Redis keeps a value before dropping it."""

SET_UNLESS_LIVE = """
local held = redis.call('GET', KEYS[1])
if held and tonumber(string.match(held, '^[^|]*')) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""
"""Set-if-absent by the injected clock. KEYS: the key. ARGV: now (epoch us), the
`expiring_value`, the GC TTL (ms). 1 when set; 0 when a value that is live at `now` is held."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MILLISECOND = timedelta(milliseconds=1)

UNREACHABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, ReadOnlyError)
"""redis-py errors meaning the server is lost, slow, loading, or a replica after a failover."""


def unavailable() -> Unavailable:
    """The core's error for a Redis in `UNREACHABLE` (raise it `from` the library's error)."""
    return Unavailable("Redis cannot be reached right now; try again shortly")


@contextmanager
def translated() -> Iterator[None]:
    """Run Redis calls, turning a lost, slow or read-only server into `Unavailable`."""
    try:
        yield
    except UNREACHABLE as error:
        raise unavailable() from error


def micros(at: datetime) -> int:
    """Epoch microseconds: exact in a Lua number (a double) for the next two centuries."""
    return (at - _EPOCH) // _MICROSECOND


def moment(epoch_us: int) -> datetime:
    """The aware UTC datetime of `micros`."""
    return _EPOCH + epoch_us * _MICROSECOND


def gc_ttl_ms(expires_at: datetime, now: datetime) -> int:
    """The relative TTL that drops a value `GC_GRACE` after it expires by the injected clock."""
    return max(0, (expires_at - now) // _MILLISECOND) + GC_GRACE // _MILLISECOND


def text(value: bytes | str) -> str:
    """A reply as text, whether or not the client decodes responses."""
    return value.decode() if isinstance(value, bytes) else value


def expiring_value(expires_at: datetime, payload: str = "") -> str:
    """A string value that carries its expiry: `<epoch us>|<payload>`."""
    return f"{micros(expires_at)}|{payload}"


def live_payload(value: bytes | str | None, now: datetime) -> str | None:
    """The payload of an `expiring_value` still live at `now`, else None."""
    if value is None:
        return None
    expires, _, payload = text(value).partition("|")
    return payload if int(expires) > micros(now) else None
