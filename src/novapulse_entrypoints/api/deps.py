"""What handlers ask for by dependency injection (see `app.dependencies`): the app's services,
built once, and the caller of the request.

Services are one dependency, cached for the app's life, and the caller depends on it. So
Litestar resolves a handler's dependencies one after the other: two independent ones would
make it resolve them concurrently, in a task group, which costs more than the request's own
work on a cached read.
"""

from __future__ import annotations

from functools import cached_property
from typing import TypeAlias

from litestar.di import NamedDependency

from novapulse_adapters.crypto import JwtTokenIssuer
from novapulse_core.domain.access import Principal
from novapulse_core.services import (
    AuthService,
    CompanyService,
    DepartmentService,
    UserService,
)
from novapulse_core.services.cache_invalidation import CacheAdmin
from novapulse_core.services.cached import CachedMembers, CachedProfiles, CachedStats
from novapulse_core.services.jobs import JobService
from novapulse_core.services.mfa import MfaService
from novapulse_core.services.webhooks import WebhookService
from novapulse_entrypoints import container as composition
from novapulse_entrypoints.container import Container, ReadinessProbe
from novapulse_entrypoints.settings import Settings


class ApiServices:
    """The container's services as the API uses them, each built at its first use and kept
    (the container's are singletons: this only saves asking it on every request)."""

    def __init__(self, container: Container) -> None:
        self._container = container

    @cached_property
    def settings(self) -> Settings:
        return self._container.settings()

    @cached_property
    def auth(self) -> AuthService:
        return self._container.auth()

    @cached_property
    def companies(self) -> CompanyService:
        return self._container.companies()

    @cached_property
    def users(self) -> UserService:
        return self._container.users()

    @cached_property
    def departments(self) -> DepartmentService:
        return self._container.departments()

    @cached_property
    def stats(self) -> CachedStats:
        return self._container.cached_stats()

    @cached_property
    def profiles(self) -> CachedProfiles:
        return self._container.cached_profiles()

    @cached_property
    def members(self) -> CachedMembers:
        return self._container.cached_members()

    @cached_property
    def cache_admin(self) -> CacheAdmin:
        return self._container.cache_admin()

    @cached_property
    def jobs(self) -> JobService:
        return self._container.jobs()

    @cached_property
    def probes(self) -> dict[str, ReadinessProbe]:
        return composition.readiness_probes(self._container)

    @cached_property
    def mfa(self) -> MfaService:
        return self._container.mfa()

    @cached_property
    def tokens(self) -> JwtTokenIssuer:
        return self._container.token_issuer()

    @cached_property
    def webhooks(self) -> WebhookService:
        return self._container.webhooks()


Services: TypeAlias = NamedDependency[ApiServices]
Caller: TypeAlias = NamedDependency[Principal]
Enrolling: TypeAlias = NamedDependency[Principal]
"""The caller, also when its token only allows MFA setup."""
Bearer: TypeAlias = NamedDependency[str]
"""The raw bearer token of the request."""
ClientAddress: TypeAlias = NamedDependency[str | None]
