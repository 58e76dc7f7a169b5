"""The Redis client the adapters are given: bounded waits, a second try on a fresh connection
when a pooled one turns out dead, and no waiting in line behind a Redis that stopped answering."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

DEFAULT_TIMEOUT = timedelta(seconds=1)


class _QuickToGiveUp(Redis):
    """After a reply did not come within the timeout, the commands of the next `quiet_seconds`
    fail at once (as a connection error, which the adapters report as `Unavailable`) instead
    of each waiting out the timeout; the first command after that asks Redis again."""

    quiet_seconds = DEFAULT_TIMEOUT.total_seconds()
    _quiet_until = 0.0

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if self._quiet_until > time.monotonic():
            raise RedisConnectionError("Redis did not answer in time just now; not asked again yet")
        try:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except RedisTimeoutError:
            self._quiet_until = time.monotonic() + self.quiet_seconds
            raise


def redis_client(url: str, *, timeout: timedelta = DEFAULT_TIMEOUT) -> Redis:
    """A client of `url` whose connects and replies wait at most `timeout` each.

    redis-py's own `from_url` waits 5 s per operation and never tries again: a Redis that
    stopped answering (a stuck server, a partition) held every request about 20 s (several
    operations each), and after a Redis restart each connection left in the pool failed its
    first command, which cost jobs an attempt. Here a command that meets a closed connection
    is sent once more on a new one (a timeout is not: the command may have run), and after a
    timeout the commands of the next `timeout` fail at once. A script the server ran just
    before its connection died may so run twice; the adapters' writes are idempotent or
    conditional, and a rate-limit hit counted twice errs on the safe side."""
    seconds = timeout.total_seconds()
    client = _QuickToGiveUp.from_url(
        url,
        socket_timeout=seconds,
        socket_connect_timeout=seconds,
        retry=Retry(NoBackoff(), retries=1),
        retry_on_error=[RedisConnectionError],
    )
    assert isinstance(client, _QuickToGiveUp)
    client.quiet_seconds = seconds
    return client
