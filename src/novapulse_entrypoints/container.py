"""The composition root: picks an adapter for every port from the settings and builds services."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from dependency_injector import containers, providers
from opentelemetry import trace

from novapulse_adapters.crypto import (
    AesGcmSecretBox,
    Argon2PasswordHasher,
    JwtTokenIssuer,
    PyOtpTotp,
    derive_key,
)
from novapulse_adapters.dramatiq import DramatiqJobQueue, build_broker, register_actors
from novapulse_adapters.memory import (
    InMemoryCompanyStore,
    InMemoryDepartmentStore,
    InMemoryEventBus,
    InMemoryUserStore,
)
from novapulse_adapters.memory.cache import InMemoryCache
from novapulse_adapters.memory.jobs import InMemoryJobStore
from novapulse_adapters.memory.limits import InMemoryRateLimiter
from novapulse_adapters.memory.mail import InMemoryOutbox
from novapulse_adapters.memory.mfa import InMemoryMfaStore, InMemoryOtpReplayStore
from novapulse_adapters.memory.sessions import (
    InMemoryChallengeStore,
    InMemoryRefreshTokenStore,
    InMemoryTokenRevocations,
)
from novapulse_adapters.memory.webhooks import (
    InMemoryWebhookDeliveryStore,
    InMemoryWebhookEndpointStore,
)
from novapulse_adapters.system import SystemClock, TimeOrderedIds
from novapulse_core.domain.addresses import AddressPolicy
from novapulse_core.domain.cache import CacheKeys
from novapulse_core.domain.jobs import QueueName
from novapulse_core.domain.limits import AttemptLimits
from novapulse_core.domain.sessions import SessionPolicy
from novapulse_core.domain.webhooks import WebhookPolicy, json_bytes
from novapulse_core.services import (
    AuthService,
    CompanyService,
    DepartmentService,
    StatsService,
    UserService,
)
from novapulse_core.services.announcer import Announcer
from novapulse_core.services.cache import CacheAside
from novapulse_core.services.cache_invalidation import CacheAdmin, CacheInvalidation
from novapulse_core.services.cached import CachedMembers, CachedProfiles, CachedStats
from novapulse_core.services.email import SEND_EMAIL, EmailService, WelcomeEmails
from novapulse_core.services.job_runner import JobRunner, LifecycleRecorder
from novapulse_core.services.jobs import JobService
from novapulse_core.services.mfa import MfaService
from novapulse_core.services.tasks import TaskRegistry
from novapulse_core.services.webhook_delivery import WebhookDeliverer
from novapulse_core.services.webhook_dispatch import (
    DELIVER_WEBHOOK,
    UrlGuard,
    WebhookDispatcher,
    WebhookFanOut,
    WebhookSecrets,
)
from novapulse_core.services.webhooks import WebhookService
from novapulse_entrypoints.settings import Settings, SettingsError
from novapulse_entrypoints.worker import WorkerGroup

ReadinessProbe = Callable[[], Awaitable[bool]]


def _mongo(name: str, *args: Any, **kwargs: Any) -> Any:
    """Build a MongoDB adapter, importing it only when MongoDB is configured."""
    try:
        module = importlib.import_module("novapulse_adapters.mongo")
    except ImportError as error:
        raise SettingsError(
            "NOVAPULSE_MONGO_URL is set but the MongoDB adapters are not installed: "
            'pip install "novapulse[mongo]"'
        ) from error
    return getattr(module, name)(*args, **kwargs)


def _redis(name: str, *args: Any, **kwargs: Any) -> Any:
    """Build a Redis adapter, importing it only when Redis is configured."""
    try:
        module = importlib.import_module("novapulse_adapters.redis")
    except ImportError as error:
        raise SettingsError(
            "NOVAPULSE_REDIS_URL is set but the Redis adapters are not installed: "
            'pip install "novapulse[redis]"'
        ) from error
    return getattr(module, name)(*args, **kwargs)


def _redis_client(url: str, timeout_ms: int, sentinels: tuple[tuple[str, int], ...]) -> Any:
    return _redis(
        "redis_client", url, timeout=timedelta(milliseconds=timeout_ms), sentinels=sentinels
    )


def _smtp_mailer(settings: Settings) -> Any:
    from novapulse_adapters.mail import SmtpMailer

    assert settings.smtp_host is not None
    return SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        sender=settings.smtp_sender,
        username=settings.smtp_username,
        password=settings.smtp_password,
        security=settings.smtp_security,
        timeout_seconds=settings.smtp_timeout_seconds,
    )


def _store_backend(settings: Settings) -> str:
    return "memory" if settings.mongo_url is None else "mongo"


def _records_backend(settings: Settings) -> str:
    """Records the API and every worker process share (jobs, webhooks, refresh tokens):
    MongoDB when configured, else Redis, else this process's memory."""
    if settings.mongo_url is not None:
        return "mongo"
    return "memory" if settings.redis_url is None else "redis"


def _ephemeral_backend(settings: Settings) -> str:
    """Short-lived shared state (rate limits, challenges, replays, revocations): Redis when
    configured, so every API node sees the same; else this process's memory."""
    return "memory" if settings.redis_url is None else "redis"


def _shared_state(
    memory: Any, redis_name: str, redis_client: Any, clock: Any, settings: Any
) -> Any:
    """A short-lived state port: the memory adapter, or the Redis one every node shares."""
    return providers.Selector(
        providers.Callable(_ephemeral_backend, settings),
        memory=providers.Singleton(memory, clock),
        redis=providers.Singleton(
            _redis, redis_name, redis_client, clock, namespace=settings.provided.queue_namespace
        ),
    )


def _session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        refresh_token_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        session_max_age=timedelta(seconds=settings.session_max_age_seconds),
        challenge_ttl=timedelta(seconds=settings.mfa_challenge_ttl_seconds),
        enrollment_token_ttl=timedelta(seconds=settings.mfa_enrollment_token_ttl_seconds),
    )


def _attempt_limits(settings: Settings) -> AttemptLimits:
    return AttemptLimits(
        password_per_account=settings.login_failures_per_account,
        code_per_account=settings.code_failures_per_account,
        per_client=settings.login_failures_per_client,
        window=timedelta(seconds=settings.login_failure_window_seconds),
    )


def _mail_backend(settings: Settings) -> str:
    return "memory" if settings.smtp_host is None else "smtp"


def _task_registry(email: EmailService, webhooks: WebhookDeliverer) -> TaskRegistry:
    tasks = TaskRegistry()
    tasks.register(SEND_EMAIL, QueueName.EMAIL, email.send)
    tasks.register(DELIVER_WEBHOOK, QueueName.WEBHOOK, webhooks.deliver)
    return tasks


def _webhook_adapter(name: str, *args: Any, **kwargs: Any) -> Any:
    """Build an outgoing-HTTP adapter, importing aiohttp only when webhooks are used."""
    try:
        module = importlib.import_module("novapulse_adapters.http")
    except ImportError as error:
        raise SettingsError(
            'webhooks need the HTTP adapters: pip install "novapulse[webhooks]"'
        ) from error
    return getattr(module, name)(*args, **kwargs)


def _webhook_encoder() -> Any:
    """orjson when the webhooks extra is installed, else the standard library's json."""
    try:
        return importlib.import_module("novapulse_adapters.http").orjson_envelope
    except ImportError:
        return json_bytes


def _webhook_policy(settings: Settings) -> WebhookPolicy:
    return WebhookPolicy(
        max_payload_bytes=settings.webhook_max_payload_bytes,
        max_endpoints=settings.webhook_max_endpoints,
        disable_after_failures=settings.webhook_disable_after_failures,
        disable_after=timedelta(seconds=settings.webhook_disable_after_seconds),
    )


def _tracer(provider: trace.TracerProvider | None) -> trace.Tracer:
    """The provider's tracer. With none given and none installed globally, a no-op tracer:
    the jobs and webhook deliveries then skip their spans altogether."""
    if provider is None:
        provider = trace.get_tracer_provider()
        if isinstance(provider, trace.ProxyTracerProvider):
            return trace.NoOpTracer()
    return provider.get_tracer("novapulse")


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    tracer_provider: providers.Object[trace.TracerProvider | None] = providers.Object(None)
    """None: the global provider (a no-op unless the process installed one)."""
    tracer = providers.Callable(_tracer, tracer_provider)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(TimeOrderedIds)
    event_bus = providers.Singleton(InMemoryEventBus, keep=1000)
    announcer = providers.Singleton(Announcer, event_bus, ids, clock)

    store_backend = providers.Callable(_store_backend, settings)
    mongo = providers.Singleton(
        _mongo,
        "MongoConnection",
        url=settings.provided.mongo_url,
        database=settings.provided.mongo_database,
        server_selection_timeout_ms=settings.provided.mongo_timeout_ms,
    )
    company_store = providers.Selector(
        store_backend,
        memory=providers.Singleton(InMemoryCompanyStore),
        mongo=providers.Singleton(_mongo, "BeanieCompanyStore"),
    )
    user_store = providers.Selector(
        store_backend,
        memory=providers.Singleton(InMemoryUserStore),
        mongo=providers.Singleton(_mongo, "BeanieUserStore"),
    )
    department_store = providers.Selector(
        store_backend,
        memory=providers.Singleton(InMemoryDepartmentStore),
        mongo=providers.Singleton(
            _mongo, "BeanieDepartmentStore", analytics_reads=settings.provided.mongo_analytics_reads
        ),
    )

    password_hasher = providers.Singleton(
        Argon2PasswordHasher,
        time_cost=settings.provided.argon2_time_cost,
        memory_cost_kib=settings.provided.argon2_memory_kib,
        parallelism=settings.provided.argon2_parallelism,
    )
    token_issuer = providers.Singleton(
        JwtTokenIssuer,
        secret=settings.provided.jwt_secret,
        private_key_pem=settings.provided.jwt_private_key_pem,
        clock=clock,
        issuer=settings.provided.jwt_issuer,
        audience=settings.provided.jwt_audience,
        algorithm=settings.provided.jwt_algorithm,
    )

    job_retention = providers.Callable(
        lambda s: timedelta(seconds=s.job_retention_seconds), settings
    )
    redis_client = providers.Singleton(
        _redis_client,
        settings.provided.redis_url,
        settings.provided.redis_timeout_ms,
        settings.provided.redis_sentinels,
    )
    broker = providers.Singleton(
        build_broker,
        settings.provided.redis_url,
        sentinels=settings.provided.redis_sentinels,
        heartbeat_timeout_ms=settings.provided.worker_heartbeat_timeout_ms,
        maintenance_chance=settings.provided.worker_maintenance_chance,
    )
    job_queue = providers.Singleton(
        DramatiqJobQueue, broker, namespace=settings.provided.queue_namespace
    )
    job_store = providers.Selector(
        providers.Callable(_records_backend, settings),
        memory=providers.Singleton(InMemoryJobStore, clock, retention=job_retention),
        redis=providers.Singleton(
            _redis,
            "RedisJobStore",
            redis_client,
            namespace=settings.provided.queue_namespace,
            retention=job_retention,
        ),
        mongo=providers.Singleton(
            _mongo,
            "BeanieJobStore",
            retention=job_retention,
            analytics_reads=settings.provided.mongo_analytics_reads,
        ),
    )
    mailer = providers.Selector(
        providers.Callable(_mail_backend, settings),
        memory=providers.Singleton(InMemoryOutbox),
        smtp=providers.Singleton(_smtp_mailer, settings),
    )
    email = providers.Singleton(EmailService, mailer)
    webhook_policy = providers.Callable(_webhook_policy, settings)
    address_policy = providers.Callable(
        lambda s: AddressPolicy.allowing(*s.webhook_allow_list), settings
    )
    webhook_retention = providers.Callable(
        lambda s: timedelta(seconds=s.webhook_retention_seconds), settings
    )
    webhook_endpoint_store = providers.Selector(
        providers.Callable(_records_backend, settings),
        memory=providers.Singleton(InMemoryWebhookEndpointStore),
        redis=providers.Singleton(
            _redis,
            "RedisWebhookEndpointStore",
            redis_client,
            namespace=settings.provided.queue_namespace,
        ),
        mongo=providers.Singleton(_mongo, "BeanieWebhookEndpointStore"),
    )
    webhook_delivery_store = providers.Selector(
        providers.Callable(_records_backend, settings),
        memory=providers.Singleton(
            InMemoryWebhookDeliveryStore, clock, retention=webhook_retention
        ),
        redis=providers.Singleton(
            _redis,
            "RedisWebhookDeliveryStore",
            redis_client,
            namespace=settings.provided.queue_namespace,
            retention=webhook_retention,
        ),
        mongo=providers.Singleton(
            _mongo, "BeanieWebhookDeliveryStore", retention=webhook_retention
        ),
    )
    webhook_secrets = providers.Singleton(
        WebhookSecrets,
        providers.Singleton(
            AesGcmSecretBox,
            providers.Callable(lambda s: derive_key(s.mfa_key, "webhook-secrets"), settings),
            previous_keys=providers.Callable(
                lambda s: [derive_key(k, "webhook-secrets") for k in s.mfa_previous_keys],
                settings,
            ),
        ),
    )
    webhook_transport = providers.Singleton(
        _webhook_adapter,
        "MeteredWebhookTransport",
        providers.Singleton(
            _webhook_adapter,
            "AiohttpWebhookTransport",
            address_policy,
            connect_timeout=settings.provided.webhook_connect_timeout_seconds,
            read_timeout=settings.provided.webhook_read_timeout_seconds,
            total_timeout=settings.provided.webhook_total_timeout_seconds,
            max_response_bytes=settings.provided.webhook_max_response_bytes,
            pool_size=settings.provided.webhook_pool_size,
        ),
    )
    webhook_deliverer = providers.Singleton(
        WebhookDeliverer,
        webhook_endpoint_store,
        webhook_delivery_store,
        webhook_transport,
        webhook_secrets,
        announcer,
        ids,
        clock,
        policy=webhook_policy,
        tracer=tracer,
    )
    tasks = providers.Singleton(_task_registry, email, webhook_deliverer)
    recorder = providers.Singleton(LifecycleRecorder, job_store)
    runner = providers.Singleton(
        JobRunner, tasks, recorder, clock, settings.provided.queue_policies, tracer=tracer
    )
    actors = providers.Singleton(
        register_actors,
        broker,
        runner,
        settings.provided.queue_policies,
        settings.provided.queue_namespace,
    )
    worker_group = providers.Factory(
        WorkerGroup,
        broker,
        runner,
        recorder,
        settings.provided.queue_policies,
        namespace=settings.provided.queue_namespace,
        # In-process queues cost nothing to poll; Redis is asked less often.
        poll_ms=providers.Callable(lambda s: 100 if s.redis_url else 20, settings),
    )
    jobs = providers.Singleton(
        JobService, job_store, job_queue, tasks, ids, clock, settings.provided.queue_policies
    )

    companies = providers.Singleton(
        CompanyService, company_store, user_store, password_hasher, ids, clock, announcer
    )
    users = providers.Singleton(
        UserService, user_store, company_store, password_hasher, ids, clock, announcer
    )
    departments = providers.Singleton(
        DepartmentService, department_store, user_store, ids, clock, announcer
    )
    stats = providers.Singleton(StatsService, user_store, department_store)
    welcome_emails = providers.Singleton(WelcomeEmails, jobs, company_store, user_store, ids)
    cache_keys = providers.Singleton(CacheKeys)
    cache = providers.Selector(
        providers.Callable(_ephemeral_backend, settings),
        memory=providers.Singleton(InMemoryCache, clock),
        redis=providers.Singleton(
            _redis, "RedisCache", redis_client, namespace=settings.provided.queue_namespace
        ),
    )
    cache_aside = providers.Singleton(CacheAside, cache)
    cached_stats = providers.Singleton(CachedStats, stats, cache_aside, cache_keys)
    cached_profiles = providers.Singleton(CachedProfiles, users, cache_aside, cache_keys)
    cached_members = providers.Singleton(CachedMembers, departments, cache_aside, cache_keys)
    cache_invalidation = providers.Singleton(
        CacheInvalidation, cache_aside, cache_keys, department_store
    )
    cache_admin = providers.Singleton(
        CacheAdmin, cache_aside, cache_keys, user_store, department_store
    )
    webhook_dispatcher = providers.Singleton(
        WebhookDispatcher,
        webhook_delivery_store,
        jobs,
        ids,
        clock,
        encoder=providers.Callable(_webhook_encoder),
        policy=webhook_policy,
    )
    webhook_fan_out = providers.Singleton(WebhookFanOut, webhook_endpoint_store, webhook_dispatcher)
    webhooks = providers.Singleton(
        WebhookService,
        webhook_endpoint_store,
        webhook_delivery_store,
        providers.Singleton(
            UrlGuard, providers.Singleton(_webhook_adapter, "SystemHostResolver"), address_policy
        ),
        webhook_secrets,
        webhook_dispatcher,
        ids,
        clock,
        announcer,
        policy=webhook_policy,
    )
    rate_limiter = _shared_state(
        InMemoryRateLimiter, "RedisRateLimiter", redis_client, clock, settings
    )
    otp_replays = _shared_state(
        InMemoryOtpReplayStore, "RedisOtpReplayStore", redis_client, clock, settings
    )
    challenges = _shared_state(
        InMemoryChallengeStore, "RedisChallengeStore", redis_client, clock, settings
    )
    revocations = _shared_state(
        InMemoryTokenRevocations, "RedisTokenRevocations", redis_client, clock, settings
    )
    refresh_tokens = providers.Selector(
        providers.Callable(_records_backend, settings),
        memory=providers.Singleton(InMemoryRefreshTokenStore, clock),
        redis=providers.Singleton(
            _redis,
            "RedisRefreshTokenStore",
            redis_client,
            clock,
            namespace=settings.provided.queue_namespace,
        ),
        mongo=providers.Singleton(_mongo, "BeanieRefreshTokenStore", clock),
    )
    mfa_store = providers.Selector(
        store_backend,
        memory=providers.Singleton(InMemoryMfaStore),
        mongo=providers.Singleton(_mongo, "BeanieMfaStore"),
    )
    totp = providers.Singleton(PyOtpTotp)
    secret_box = providers.Singleton(
        AesGcmSecretBox,
        providers.Callable(lambda s: derive_key(s.mfa_key, "mfa-secret-box"), settings),
        previous_keys=providers.Callable(
            lambda s: [derive_key(k, "mfa-secret-box") for k in s.mfa_previous_keys], settings
        ),
    )
    attempt_limits = providers.Callable(_attempt_limits, settings)
    mfa = providers.Singleton(
        MfaService,
        mfa_store,
        user_store,
        totp,
        secret_box,
        otp_replays,
        rate_limiter,
        password_hasher,
        clock,
        announcer,
        recovery_code_key=providers.Callable(
            lambda s: derive_key(s.mfa_key, "mfa-recovery-codes"), settings
        ),
        previous_recovery_code_keys=providers.Callable(
            lambda s: [derive_key(k, "mfa-recovery-codes") for k in s.mfa_previous_keys], settings
        ),
        issuer=settings.provided.mfa_issuer,
        limits=attempt_limits,
    )
    auth = providers.Singleton(
        AuthService,
        user_store,
        password_hasher,
        token_issuer,
        ids,
        clock,
        access_token_ttl=providers.Callable(
            lambda s: timedelta(seconds=s.access_token_ttl_seconds), settings
        ),
        companies=company_store,
        mfa=mfa,
        challenges=challenges,
        refresh_tokens=refresh_tokens,
        revocations=revocations,
        limiter=rate_limiter,
        announcer=announcer,
        policy=providers.Callable(_session_policy, settings),
        limits=attempt_limits,
    )


def build_container(settings: Settings) -> Container:
    return Container(settings=settings)


async def start(container: Container, *, long_running: bool = True) -> None:
    """Connect the configured backends, declare the queues and subscribe to domain events.

    A long-running process survives a backend that is down at start-up (it reports not
    ready); a one-off command fails at once instead.
    """
    if container.store_backend() == "mongo":
        await container.mongo().open(retry_in_background=long_running)
    container.actors()
    container.event_bus().subscribe(container.welcome_emails())
    container.event_bus().subscribe(container.webhook_fan_out())
    container.event_bus().subscribe(container.cache_invalidation())


async def stop(container: Container) -> None:
    """Close what `start` and the jobs opened (call it on the loop the jobs ran on)."""
    with contextlib.suppress(SettingsError):
        await container.webhook_transport().aclose()
    if container.store_backend() == "mongo":
        await container.mongo().close()
    if container.settings().redis_url is not None:
        await container.redis_client().aclose()


def readiness_probes(container: Container) -> dict[str, ReadinessProbe]:
    """One probe per configured backend; the memory stores need none."""
    probes: dict[str, ReadinessProbe] = {}
    if container.store_backend() == "mongo":
        probes["mongo"] = container.mongo().ping
    if container.settings().redis_url is not None:
        probes["redis"] = _redis_ping(container.redis_client())
    return probes


def _redis_ping(client: Any) -> ReadinessProbe:
    async def ping() -> bool:
        try:
            return bool(await client.ping())
        except Exception:
            return False

    return ping
