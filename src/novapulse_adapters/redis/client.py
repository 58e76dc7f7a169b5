"""The Redis client the adapters are given: bounded waits, and a second try on a fresh
connection when a pooled one turns out dead."""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

DEFAULT_TIMEOUT = timedelta(seconds=1)


def redis_client(url: str, *, timeout: timedelta = DEFAULT_TIMEOUT) -> Redis:
    """A client of `url` whose connects and replies wait at most `timeout` each.

    redis-py's own `from_url` waits 5 s per operation and never tries again: a Redis that
    stopped answering (a stuck server, a partition) held every request about 20 s (several
    operations each), and after a Redis restart each connection left in the pool failed its
    first command, which cost jobs an attempt. Here a command that meets a closed connection
    is sent once more on a new one (a timeout is not: the command may have run). A script the
    server ran just before the connection died may so run twice; the adapters' writes are
    idempotent or conditional, and a rate-limit hit counted twice errs on the safe side."""
    seconds = timeout.total_seconds()
    return Redis.from_url(
        url,
        socket_timeout=seconds,
        socket_connect_timeout=seconds,
        retry=Retry(NoBackoff(), retries=1),
        retry_on_error=[RedisConnectionError],
    )
