"""The composition root: picks an adapter for every port from the settings and builds services."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from dependency_injector import containers, providers

from novapulse_adapters.crypto import Argon2PasswordHasher, JwtTokenIssuer
from novapulse_adapters.memory import (
    InMemoryCompanyStore,
    InMemoryDepartmentStore,
    InMemoryEventBus,
    InMemoryUserStore,
)
from novapulse_adapters.system import SystemClock, TimeOrderedIds
from novapulse_core.services import (
    AuthService,
    CompanyService,
    DepartmentService,
    StatsService,
    UserService,
)
from novapulse_core.services.announcer import Announcer
from novapulse_entrypoints.settings import Settings, SettingsError

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


def _store_backend(settings: Settings) -> str:
    return "memory" if settings.mongo_url is None else "mongo"


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

    announcer = providers.Singleton(Announcer, event_bus, ids, clock)
    companies = providers.Singleton(
        CompanyService, company_store, user_store, password_hasher, ids, clock, announcer
    )
    users = providers.Singleton(UserService, user_store, password_hasher, ids, clock, announcer)
    departments = providers.Singleton(
        DepartmentService, department_store, user_store, ids, clock, announcer
    )
    stats = providers.Singleton(StatsService, user_store, department_store)
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
    """Connect the configured backends. A long-running process survives a backend that is
    down at start-up (it reports not ready); a one-off command fails at once instead."""
    if container.store_backend() == "mongo":
        await container.mongo().open(retry_in_background=long_running)


async def stop(container: Container) -> None:
    if container.store_backend() == "mongo":
        await container.mongo().close()


def readiness_probes(container: Container) -> dict[str, ReadinessProbe]:
    """One probe per configured backend; the memory stores need none."""
    probes: dict[str, ReadinessProbe] = {}
    if container.store_backend() == "mongo":
        probes["mongo"] = container.mongo().ping
    return probes
