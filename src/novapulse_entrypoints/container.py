"""The composition root: picks an adapter for every port from the settings and builds services."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from dependency_injector import containers, providers

from novapulse_adapters.crypto import Argon2PasswordHasher, JwtTokenIssuer
from novapulse_adapters.dramatiq import DramatiqJobQueue, build_broker, register_actors
from novapulse_adapters.memory import (
    InMemoryCompanyStore,
    InMemoryDepartmentStore,
    InMemoryEventBus,
    InMemoryUserStore,
)
from novapulse_adapters.memory.jobs import InMemoryJobStore
from novapulse_adapters.memory.mail import InMemoryOutbox
from novapulse_adapters.system import SystemClock, TimeOrderedIds
from novapulse_core.domain.jobs import QueueName
from novapulse_core.services import (
    AuthService,
    CompanyService,
    DepartmentService,
    StatsService,
    UserService,
)
from novapulse_core.services.announcer import Announcer
from novapulse_core.services.email import SEND_EMAIL, EmailService, WelcomeEmails
from novapulse_core.services.job_runner import JobRunner, LifecycleRecorder
from novapulse_core.services.jobs import JobService
from novapulse_core.services.tasks import TaskRegistry
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


def _redis_client(url: str) -> Any:
    from redis.asyncio import Redis

    return Redis.from_url(url)


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


def _job_backend(settings: Settings) -> str:
    if settings.mongo_url is not None:
        return "mongo"
    return "memory" if settings.redis_url is None else "redis"


def _mail_backend(settings: Settings) -> str:
    return "memory" if settings.smtp_host is None else "smtp"


def _task_registry(email: EmailService) -> TaskRegistry:
    tasks = TaskRegistry()
    tasks.register(SEND_EMAIL, QueueName.EMAIL, email.send)
    return tasks


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(TimeOrderedIds)
    event_bus = providers.Singleton(InMemoryEventBus, keep=1000)

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
        mongo=providers.Singleton(_mongo, "BeanieDepartmentStore"),
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
        clock=clock,
        issuer=settings.provided.jwt_issuer,
        audience=settings.provided.jwt_audience,
        algorithm=settings.provided.jwt_algorithm,
    )

    job_retention = providers.Callable(
        lambda s: timedelta(seconds=s.job_retention_seconds), settings
    )
    redis_client = providers.Singleton(_redis_client, settings.provided.redis_url)
    broker = providers.Singleton(
        build_broker,
        settings.provided.redis_url,
        heartbeat_timeout_ms=settings.provided.worker_heartbeat_timeout_ms,
        maintenance_chance=settings.provided.worker_maintenance_chance,
    )
    job_queue = providers.Singleton(
        DramatiqJobQueue, broker, namespace=settings.provided.queue_namespace
    )
    job_store = providers.Selector(
        providers.Callable(_job_backend, settings),
        memory=providers.Singleton(InMemoryJobStore, clock, retention=job_retention),
        redis=providers.Singleton(
            _redis,
            "RedisJobStore",
            redis_client,
            namespace=settings.provided.queue_namespace,
            retention=job_retention,
        ),
        mongo=providers.Singleton(_mongo, "BeanieJobStore", retention=job_retention),
    )
    mailer = providers.Selector(
        providers.Callable(_mail_backend, settings),
        memory=providers.Singleton(InMemoryOutbox),
        smtp=providers.Singleton(_smtp_mailer, settings),
    )
    email = providers.Singleton(EmailService, mailer)
    tasks = providers.Singleton(_task_registry, email)
    recorder = providers.Singleton(LifecycleRecorder, job_store)
    runner = providers.Singleton(
        JobRunner, tasks, recorder, clock, settings.provided.queue_policies
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
        recorder,
        settings.provided.queue_policies,
        namespace=settings.provided.queue_namespace,
        # In-process queues cost nothing to poll; Redis is asked less often.
        poll_ms=providers.Callable(lambda s: 100 if s.redis_url else 20, settings),
    )
    jobs = providers.Singleton(
        JobService, job_store, job_queue, tasks, ids, clock, settings.provided.queue_policies
    )

    announcer = providers.Singleton(Announcer, event_bus, ids, clock)
    companies = providers.Singleton(
        CompanyService, company_store, user_store, password_hasher, ids, clock, announcer
    )
    users = providers.Singleton(UserService, user_store, password_hasher, ids, clock, announcer)
    departments = providers.Singleton(
        DepartmentService, department_store, user_store, ids, clock, announcer
    )
    stats = providers.Singleton(StatsService, user_store, department_store)
    welcome_emails = providers.Singleton(WelcomeEmails, jobs, company_store, user_store, ids)
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


async def stop(container: Container) -> None:
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
