"""The names handlers ask for by dependency injection (see `app._dependencies`)."""

from __future__ import annotations

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
from novapulse_entrypoints.container import ReadinessProbe
from novapulse_entrypoints.settings import Settings

Caller: TypeAlias = NamedDependency[Principal]
Enrolling: TypeAlias = NamedDependency[Principal]
"""The caller, also when its token only allows MFA setup."""
Bearer: TypeAlias = NamedDependency[str]
"""The raw bearer token of the request."""
ClientAddress: TypeAlias = NamedDependency[str | None]
Mfa: TypeAlias = NamedDependency[MfaService]
Webhooks: TypeAlias = NamedDependency[WebhookService]
Tokens: TypeAlias = NamedDependency[JwtTokenIssuer]
Auth: TypeAlias = NamedDependency[AuthService]
Companies: TypeAlias = NamedDependency[CompanyService]
Users: TypeAlias = NamedDependency[UserService]
Departments: TypeAlias = NamedDependency[DepartmentService]
Stats: TypeAlias = NamedDependency[CachedStats]
Profiles: TypeAlias = NamedDependency[CachedProfiles]
Members: TypeAlias = NamedDependency[CachedMembers]
CacheAdmins: TypeAlias = NamedDependency[CacheAdmin]
AppSettings: TypeAlias = NamedDependency[Settings]
Jobs: TypeAlias = NamedDependency[JobService]
Probes: TypeAlias = NamedDependency[dict[str, ReadinessProbe]]
