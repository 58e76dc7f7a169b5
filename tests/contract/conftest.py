"""Port fixtures for the contract suites: each test runs once per adapter, started lazily."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, NoReturn

import pytest

from novapulse_adapters.crypto import AesGcmSecretBox, PyOtpTotp
from novapulse_adapters.memory import (
    FrozenClock,
    InMemoryCache,
    InMemoryChallengeStore,
    InMemoryCompanyStore,
    InMemoryDepartmentStore,
    InMemoryJobStore,
    InMemoryMfaStore,
    InMemoryOtpReplayStore,
    InMemoryRateLimiter,
    InMemoryRefreshTokenStore,
    InMemoryTokenRevocations,
    InMemoryUserStore,
    InMemoryWebhookDeliveryStore,
    InMemoryWebhookEndpointStore,
    InsecureSecretBox,
    StdlibTotp,
)
from novapulse_adapters.memory.cache import DELETION_HOLD
from novapulse_adapters.mongo import (
    BeanieCompanyStore,
    BeanieDepartmentStore,
    BeanieJobStore,
    BeanieUserStore,
    MongoConnection,
)
from novapulse_core.domain.errors import Unavailable
from novapulse_core.ports.cache import Cache
from novapulse_core.ports.jobs import JobStore
from novapulse_core.ports.limits import RateLimiter
from novapulse_core.ports.mfa import MfaStore, OtpReplayStore, Totp
from novapulse_core.ports.sessions import ChallengeStore, RefreshTokenStore, TokenRevocations
from novapulse_core.ports.stores import CompanyStore, DepartmentStore, UserStore
from novapulse_core.ports.webhooks import WebhookDeliveryStore, WebhookEndpointStore
from support.mongo_standin import mongo_url_for_tests, new_standin_client, redacted_url
from support.redis_server import RedisServerUnavailable, private_redis_server

if TYPE_CHECKING:
    from redis.asyncio import Redis

BACKENDS = ["memory", "mongo"]
JOB_BACKENDS = ["memory", "redis", "mongo"]
REAL_MONGO_TIMEOUT_MS = 2000
JOB_RETENTION = timedelta(days=365 * 60)
"""Long: Redis and MongoDB expire by the wall clock, and the job tests use fixed 2026 dates."""


def _unreachable(message: str) -> NoReturn:
    """A backend that cannot be reached skips locally and fails on CI."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def unreachable_backends() -> dict[str, str]:
    """Backends found unreachable in this session, so later tests skip without waiting again."""
    return {}


@pytest.fixture
async def mongo_connection(
    unreachable_backends: dict[str, str],
) -> AsyncIterator[MongoConnection]:
    """A fresh database: a new stand-in client, or a new database on the real MongoDB."""
    url = mongo_url_for_tests()
    if url is None:
        async with MongoConnection(client=new_standin_client(), database="contract") as standin:
            yield standin
        return
    if "mongo" in unreachable_backends:
        _unreachable(unreachable_backends["mongo"])
    name = f"novapulse_contract_{uuid.uuid4().hex[:12]}"
    connection = MongoConnection(url, name, server_selection_timeout_ms=REAL_MONGO_TIMEOUT_MS)
    try:
        await connection.open()
    except Unavailable:
        await connection.close()
        unreachable_backends["mongo"] = f"MongoDB at {redacted_url(url)} cannot be reached"
        _unreachable(unreachable_backends["mongo"])
    try:
        yield connection
    finally:
        await connection.database.client.drop_database(name)
        await connection.close()


@pytest.fixture(params=BACKENDS)
def company_store(request: pytest.FixtureRequest) -> CompanyStore:
    store: CompanyStore = request.getfixturevalue(f"{request.param}_company_store")
    return store


@pytest.fixture(params=BACKENDS)
def user_store(request: pytest.FixtureRequest) -> UserStore:
    store: UserStore = request.getfixturevalue(f"{request.param}_user_store")
    return store


@pytest.fixture(params=BACKENDS)
def department_store(request: pytest.FixtureRequest) -> DepartmentStore:
    store: DepartmentStore = request.getfixturevalue(f"{request.param}_department_store")
    return store


@pytest.fixture
def memory_company_store() -> InMemoryCompanyStore:
    return InMemoryCompanyStore()


@pytest.fixture
def memory_user_store() -> InMemoryUserStore:
    return InMemoryUserStore()


@pytest.fixture
def memory_department_store() -> InMemoryDepartmentStore:
    return InMemoryDepartmentStore()


@pytest.fixture
def mongo_company_store(mongo_connection: MongoConnection) -> BeanieCompanyStore:
    return BeanieCompanyStore()


@pytest.fixture
def mongo_user_store(mongo_connection: MongoConnection) -> BeanieUserStore:
    return BeanieUserStore()


@pytest.fixture
def mongo_department_store(mongo_connection: MongoConnection) -> BeanieDepartmentStore:
    return BeanieDepartmentStore()


@pytest.fixture(scope="session")
def redis_server(unreachable_backends: dict[str, str]) -> Iterator[int]:
    """A private redis-server for the session (never the shared one on 6379); yields its port."""
    try:
        with private_redis_server() as port:
            yield port
    except RedisServerUnavailable as error:
        unreachable_backends["redis"] = str(error)
        _unreachable(str(error))


@pytest.fixture
async def redis_client(redis_server: int) -> AsyncIterator[Redis]:
    """A client of the private server, on an emptied database."""
    from redis.asyncio import Redis

    client = Redis(host="127.0.0.1", port=redis_server)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(params=JOB_BACKENDS)
def job_store(request: pytest.FixtureRequest) -> JobStore:
    store: JobStore = request.getfixturevalue(f"{request.param}_job_store")
    return store


@pytest.fixture
def job_retention() -> timedelta:
    return JOB_RETENTION


@pytest.fixture
def job_clock() -> FrozenClock:
    """The clock of the memory job store (Redis and MongoDB expire by their own clocks)."""
    return FrozenClock()


@pytest.fixture
def memory_job_store(job_clock: FrozenClock) -> InMemoryJobStore:
    return InMemoryJobStore(job_clock, retention=JOB_RETENTION)


@pytest.fixture
def redis_job_store(redis_client: Redis) -> JobStore:
    from novapulse_adapters.redis import RedisJobStore

    return RedisJobStore(redis_client, namespace="contract", retention=JOB_RETENTION)


@pytest.fixture
def mongo_job_store(mongo_connection: MongoConnection) -> BeanieJobStore:
    return BeanieJobStore(retention=JOB_RETENTION)


# MFA and sessions. Each port lists its backends; adding one (say "redis") is its name in the
# list plus a `redis_<port>` fixture. Adapters that expire entries take `store_clock` and judge
# expiry by it (a server's own TTLs may only collect garbage), so expiry tests move that clock.

MFA_STORE_BACKENDS = ["memory", "mongo"]
OTP_REPLAY_BACKENDS = ["memory", "redis"]
CHALLENGE_BACKENDS = ["memory", "redis"]
REFRESH_TOKEN_BACKENDS = ["memory", "redis", "mongo"]
REVOCATION_BACKENDS = ["memory", "redis"]
RATE_LIMITER_BACKENDS = ["memory", "redis"]
REFRESH_TOKEN_GC_GRACE = JOB_RETENTION
"""Long: MongoDB's TTL monitor (and the stand-in's, at once) runs on the wall clock, and the
tests' frozen clock starts in the past."""
TOTP_ADAPTERS = ["pyotp", "stdlib"]
SECRET_BOX_ADAPTERS = ["aesgcm", "insecure"]
SECRET_BOX_KEY = bytes(range(32))


def _port(name: str, backends: list[str]) -> Callable[[pytest.FixtureRequest], object]:
    """The fixture `name`, resolving `<backend>_<name>` lazily for each backend in turn."""

    @pytest.fixture(name=name, params=backends)
    def by_backend(request: pytest.FixtureRequest) -> object:
        return request.getfixturevalue(f"{request.param}_{name}")

    return by_backend


mfa_store = _port("mfa_store", MFA_STORE_BACKENDS)
otp_replay_store = _port("otp_replay_store", OTP_REPLAY_BACKENDS)
challenge_store = _port("challenge_store", CHALLENGE_BACKENDS)
refresh_token_store = _port("refresh_token_store", REFRESH_TOKEN_BACKENDS)
token_revocations = _port("token_revocations", REVOCATION_BACKENDS)
rate_limiter = _port("rate_limiter", RATE_LIMITER_BACKENDS)
totp_factory = _port("totp_factory", TOTP_ADAPTERS)
secret_box = _port("secret_box", SECRET_BOX_ADAPTERS)


@pytest.fixture
def store_clock() -> FrozenClock:
    """The clock the expiring adapters of a test judge by; the test moves it."""
    return FrozenClock()


@pytest.fixture
def memory_mfa_store() -> InMemoryMfaStore:
    return InMemoryMfaStore()


@pytest.fixture
def memory_otp_replay_store(store_clock: FrozenClock) -> InMemoryOtpReplayStore:
    return InMemoryOtpReplayStore(store_clock)


@pytest.fixture
def memory_challenge_store(store_clock: FrozenClock) -> InMemoryChallengeStore:
    return InMemoryChallengeStore(store_clock)


@pytest.fixture
def memory_refresh_token_store(store_clock: FrozenClock) -> InMemoryRefreshTokenStore:
    return InMemoryRefreshTokenStore(store_clock)


@pytest.fixture
def memory_token_revocations(store_clock: FrozenClock) -> InMemoryTokenRevocations:
    return InMemoryTokenRevocations(store_clock)


@pytest.fixture
def memory_rate_limiter(store_clock: FrozenClock) -> InMemoryRateLimiter:
    return InMemoryRateLimiter(store_clock)


@pytest.fixture
def mongo_mfa_store(mongo_connection: MongoConnection) -> MfaStore:
    from novapulse_adapters.mongo import BeanieMfaStore

    return BeanieMfaStore()


@pytest.fixture
def redis_otp_replay_store(redis_client: Redis, store_clock: FrozenClock) -> OtpReplayStore:
    from novapulse_adapters.redis import RedisOtpReplayStore

    return RedisOtpReplayStore(redis_client, store_clock, namespace="contract")


@pytest.fixture
def redis_challenge_store(redis_client: Redis, store_clock: FrozenClock) -> ChallengeStore:
    from novapulse_adapters.redis import RedisChallengeStore

    return RedisChallengeStore(redis_client, store_clock, namespace="contract")


@pytest.fixture
def redis_refresh_token_store(redis_client: Redis, store_clock: FrozenClock) -> RefreshTokenStore:
    from novapulse_adapters.redis import RedisRefreshTokenStore

    return RedisRefreshTokenStore(redis_client, store_clock, namespace="contract")


@pytest.fixture
def mongo_refresh_token_store(
    mongo_connection: MongoConnection, store_clock: FrozenClock
) -> RefreshTokenStore:
    from novapulse_adapters.mongo import BeanieRefreshTokenStore

    return BeanieRefreshTokenStore(store_clock, gc_grace=REFRESH_TOKEN_GC_GRACE)


@pytest.fixture
def redis_token_revocations(redis_client: Redis, store_clock: FrozenClock) -> TokenRevocations:
    from novapulse_adapters.redis import RedisTokenRevocations

    return RedisTokenRevocations(redis_client, store_clock, namespace="contract")


@pytest.fixture
def redis_rate_limiter(redis_client: Redis, store_clock: FrozenClock) -> RateLimiter:
    from novapulse_adapters.redis import RedisRateLimiter

    return RedisRateLimiter(redis_client, store_clock, namespace="contract")


@pytest.fixture
def pyotp_totp_factory() -> Callable[..., Totp]:
    return PyOtpTotp


@pytest.fixture
def stdlib_totp_factory() -> Callable[..., Totp]:
    return StdlibTotp


@pytest.fixture
def aesgcm_secret_box() -> AesGcmSecretBox:
    return AesGcmSecretBox(SECRET_BOX_KEY)


@pytest.fixture
def insecure_secret_box() -> InsecureSecretBox:
    return InsecureSecretBox()


# Webhooks: the endpoint store and the delivery log. Adding a backend (say "mongo") is its name
# in the list plus a `mongo_<port>` fixture; the delivery log takes `store_clock` for retention.

WEBHOOK_ENDPOINT_BACKENDS = ["memory", "mongo", "redis"]
WEBHOOK_DELIVERY_BACKENDS = ["memory", "mongo", "redis"]
WEBHOOK_RETENTION = JOB_RETENTION
"""Long, for the same reason as the jobs': server-side TTLs run on the wall clock."""

webhook_endpoint_store = _port("webhook_endpoint_store", WEBHOOK_ENDPOINT_BACKENDS)
webhook_delivery_store = _port("webhook_delivery_store", WEBHOOK_DELIVERY_BACKENDS)


@pytest.fixture
def memory_webhook_endpoint_store() -> InMemoryWebhookEndpointStore:
    return InMemoryWebhookEndpointStore()


@pytest.fixture
def memory_webhook_delivery_store(store_clock: FrozenClock) -> InMemoryWebhookDeliveryStore:
    return InMemoryWebhookDeliveryStore(store_clock, retention=WEBHOOK_RETENTION)


@pytest.fixture
def mongo_webhook_endpoint_store(mongo_connection: MongoConnection) -> WebhookEndpointStore:
    from novapulse_adapters.mongo import BeanieWebhookEndpointStore

    return BeanieWebhookEndpointStore()


@pytest.fixture
def mongo_webhook_delivery_store(mongo_connection: MongoConnection) -> WebhookDeliveryStore:
    from novapulse_adapters.mongo import BeanieWebhookDeliveryStore

    return BeanieWebhookDeliveryStore(retention=WEBHOOK_RETENTION)


@pytest.fixture
def redis_webhook_endpoint_store(redis_client: Redis) -> WebhookEndpointStore:
    from novapulse_adapters.redis import RedisWebhookEndpointStore

    return RedisWebhookEndpointStore(redis_client, namespace="contract")


@pytest.fixture
def redis_webhook_delivery_store(redis_client: Redis) -> WebhookDeliveryStore:
    from novapulse_adapters.redis import RedisWebhookDeliveryStore

    return RedisWebhookDeliveryStore(
        redis_client, namespace="contract", retention=WEBHOOK_RETENTION
    )


# The cache. Memory expires by `store_clock`; Redis by its own clock (SET PX), so the TTL tests
# read an entry's remaining lifetime through `cache_remaining` (the clock, or PTTL) and never
# sleep.

CACHE_BACKENDS = ["memory", "redis"]

cache = _port("cache", CACHE_BACKENDS)


@pytest.fixture
def memory_cache(store_clock: FrozenClock) -> InMemoryCache:
    return InMemoryCache(store_clock)


REDIS_CACHE_HOLD = timedelta(milliseconds=300)


@pytest.fixture
def redis_cache(redis_client: Redis) -> Cache:
    from novapulse_adapters.redis import RedisCache

    return RedisCache(redis_client, namespace="contract", hold=REDIS_CACHE_HOLD)


@pytest.fixture
def pass_the_hold(cache: Cache, store_clock: FrozenClock) -> Callable[[], Awaitable[None]]:
    """Let the cache's hold after a deletion run out: the memory cache's clock, or Redis's."""

    async def passed() -> None:
        if isinstance(cache, InMemoryCache):
            store_clock.advance(DELETION_HOLD.total_seconds())
        else:
            await asyncio.sleep(REDIS_CACHE_HOLD.total_seconds() + 0.05)

    return passed


@pytest.fixture
def cache_remaining(
    cache: Cache, request: pytest.FixtureRequest
) -> Callable[[str], Awaitable[timedelta | None]]:
    """The lifetime a key has left: by the memory cache's clock, or Redis's PTTL."""
    if isinstance(cache, InMemoryCache):
        memory = cache

        async def by_clock(key: str) -> timedelta | None:
            return memory.remaining(key)

        return by_clock
    client: Redis = request.getfixturevalue("redis_client")

    async def by_pttl(key: str) -> timedelta | None:
        left = int(await client.pttl(f"contract:{key}"))
        return None if left < 0 else timedelta(milliseconds=left)

    return by_pttl


@pytest.fixture
async def dead_client() -> AsyncIterator[Redis]:
    """A Redis client of a port nothing listens on (for the `Unavailable` tests)."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    client = Redis(
        host="127.0.0.1", port=port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    try:
        yield client
    finally:
        await client.aclose()
