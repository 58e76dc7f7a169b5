"""The unit-test platform: every core service wired to the memory adapters on a frozen clock."""

from __future__ import annotations

import itertools
from datetime import timedelta

import attrs

from novapulse_adapters.crypto import Argon2PasswordHasher, JwtTokenIssuer
from novapulse_adapters.memory import (
    FrozenClock,
    InMemoryCompanyStore,
    InMemoryDepartmentStore,
    InMemoryEventBus,
    InMemoryUserStore,
    SequentialIds,
)
from novapulse_core.domain.access import Principal
from novapulse_core.domain.events import DomainEvent
from novapulse_core.domain.identity import Company, Role, User
from novapulse_core.services import (
    AuthService,
    CompanyService,
    DepartmentService,
    StatsService,
    UserService,
)
from novapulse_core.services.announcer import Announcer

PASSWORD = "correct horse battery staple"
JWT_SECRET = "unit-test-signing-secret-long-enough-for-every-hmac-of-sha2-0123456789"
ISSUER = "novapulse-unit"
AUDIENCE = "novapulse-api"
TOKEN_TTL = timedelta(minutes=15)
LEEWAY = timedelta(seconds=30)


def fast_hasher(*, time_cost: int = 1, memory_cost_kib: int = 8) -> Argon2PasswordHasher:
    """Argon2id with the cheapest parameters, so a test hashes in microseconds."""
    return Argon2PasswordHasher(time_cost=time_cost, memory_cost_kib=memory_cost_kib, parallelism=1)


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, company_id=user.company_id, role=user.role)


class RecordingIds:
    """`SequentialIds` that remembers every id it handed out, so a test can look for leftovers."""

    def __init__(self) -> None:
        self._ids = SequentialIds()
        self.issued: list[str] = []

    def new_id(self) -> str:
        new = self._ids.new_id()
        self.issued.append(new)
        return new


@attrs.frozen
class Member:
    """A user as it was created, the principal it acts as, and its password."""

    user: User
    principal: Principal
    password: str = PASSWORD


@attrs.frozen
class Tenant:
    company: Company
    owner: Member


class Platform:
    """The services, the stores behind them, the event bus and the clock, wired once."""

    def __init__(self) -> None:
        self.clock = FrozenClock()
        self.ids = RecordingIds()
        self.events = InMemoryEventBus()
        self.company_store = InMemoryCompanyStore()
        self.user_store = InMemoryUserStore()
        self.department_store = InMemoryDepartmentStore()
        self.hasher = fast_hasher()
        self.tokens = JwtTokenIssuer(
            secret=JWT_SECRET, clock=self.clock, issuer=ISSUER, audience=AUDIENCE, leeway=LEEWAY
        )
        self.announcer = Announcer(self.events, self.ids, self.clock)
        self.companies = CompanyService(
            self.company_store, self.user_store, self.hasher, self.ids, self.clock, self.announcer
        )
        self.users = UserService(self.user_store, self.hasher, self.ids, self.clock, self.announcer)
        self.departments = DepartmentService(
            self.department_store, self.user_store, self.ids, self.clock, self.announcer
        )
        self.stats = StatsService(self.user_store, self.department_store)
        self.auth = self.auth_with(self.hasher)
        self._emails = itertools.count(1)

    def auth_with(self, hasher: Argon2PasswordHasher) -> AuthService:
        """An AuthService on this platform's stores and tokens, hashing with `hasher`."""
        return AuthService(
            self.user_store, hasher, self.tokens, self.ids, self.clock, access_token_ttl=TOKEN_TTL
        )

    async def register(self, company_name: str = "Acme", *, email: str | None = None) -> Tenant:
        registration = await self.companies.register(
            company_name=company_name,
            owner_email=email or self.new_email(),
            owner_name="Olive Owner",
            owner_password=PASSWORD,
        )
        owner = registration.owner
        return Tenant(registration.company, Member(owner, principal_of(owner)))

    async def add_user(
        self, tenant: Tenant, role: Role = Role.MEMBER, *, name: str = "Uma User"
    ) -> Member:
        """A new active user of `tenant`, added by its owner."""
        user = await self.users.add(
            tenant.owner.principal, email=self.new_email(), name=name, role=role, password=PASSWORD
        )
        return Member(user, principal_of(user))

    def new_email(self) -> str:
        return f"person{next(self._emails)}@example.com"

    def events_of(self, event_type: str) -> list[DomainEvent]:
        return [event for event in self.events.published if event.type == event_type]
