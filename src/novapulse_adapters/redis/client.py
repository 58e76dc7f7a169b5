"""The Redis client the adapters are given: bounded waits, no queueing behind a Redis that
stopped answering, and a restarted Redis noticed at the first dead connection."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

DEFAULT_TIMEOUT = timedelta(seconds=1)

REPEATABLE = frozenset(
    {"EXISTS", "GET", "HGET", "HGETALL", "HMGET", "MGET", "PING", "PTTL", "SCAN", "TTL"}
)
"""Commands that change nothing, so sending one again cannot apply anything twice."""


class _QuickToGiveUp(Redis):
    """redis-py's client, with two changes to how it meets a Redis in trouble.

    After a reply did not come within the timeout, the commands of the next `quiet_seconds`
    fail at once (as a connection error, which the adapters report as `Unavailable`) instead
    of each waiting out the timeout; the first command after that asks Redis again, on a new
    connection: the pool's idle ones are dropped with the one that timed out (under Sentinels,
    a primary that hung has been replaced by now, and each of them would wait out the timeout
    on it once more).

    A command that meets a dead connection (Redis restarted, a proxy dropped it) drops every
    idle connection of the pool, which died with it, so the next commands connect afresh;
    the command itself is sent once more only when it is `REPEATABLE`. A write or a script
    may have run before the connection died, and running it twice is not harmless (a refresh
    token used twice revokes its session, a job record added twice is a conflict), so it
    fails as `Unavailable` and its caller decides."""

    quiet_seconds = DEFAULT_TIMEOUT.total_seconds()
    _quiet_until = 0.0
    watchers: Sequence[Redis] = ()
    """The clients of the Sentinels this client asks where the primary is (closed with it)."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for watcher in self.watchers:
            await watcher.aclose()

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if self._quiet_until > time.monotonic():
            raise RedisConnectionError("Redis did not answer in time just now; not asked again yet")
        try:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except RedisTimeoutError:
            self._quiet_until = time.monotonic() + self.quiet_seconds
            await self.connection_pool.disconnect(inuse_connections=False)
            raise
        except RedisConnectionError:
            await self.connection_pool.disconnect(inuse_connections=False)
            if str(args[0]).upper() not in REPEATABLE:
                raise
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


Sentinels = Sequence[tuple[str, int]]


def redis_client(
    url: str, *, timeout: timedelta = DEFAULT_TIMEOUT, sentinels: Sentinels = ()
) -> Redis:
    """A client of `url` whose connects and replies wait at most `timeout` each (redis-py's
    `from_url` waits 5 s: a stuck Redis held every request about 20 s), that stops asking a
    Redis which did not answer for as long again, and that notices a restarted Redis at its
    first dead connection (see `_QuickToGiveUp`). With `sentinels`, the client asks them where
    the primary named by `url`'s host is, and again once a connection to it fails (a failover
    moved it)."""
    seconds = timeout.total_seconds()
    options: dict[str, Any] = {
        "socket_timeout": seconds,
        "socket_connect_timeout": seconds,
        "retry": None,
    }
    watchers: Sequence[Redis] = ()
    if sentinels:
        name, login = primary(url)
        sentinel = AsyncSentinel(  # type: ignore[no-untyped-call]
            list(sentinels), sentinel_kwargs=options, **options
        )
        client = sentinel.master_for(name, redis_class=_QuickToGiveUp, **login, **options)
        watchers = sentinel.sentinels
    else:
        client = _QuickToGiveUp.from_url(url, **options)
    assert isinstance(client, _QuickToGiveUp)
    client.quiet_seconds = seconds
    client.watchers = watchers
    return client


def primary(url: str) -> tuple[str, dict[str, Any]]:
    """What a `redis://[[user]:password@]<name>[/db]` URL says under Sentinels: the name of the
    primary they watch, and how to log in to it (`db`, `username`, `password`)."""
    parts = urlsplit(url)
    login: dict[str, Any] = {"db": int(parts.path.strip("/") or 0)}
    if parts.username:
        login["username"] = unquote(parts.username)
    if parts.password:
        login["password"] = unquote(parts.password)
    name = parts.netloc.rpartition("@")[2]  # as written: `hostname` lowers it, names keep case
    return unquote(name), login
