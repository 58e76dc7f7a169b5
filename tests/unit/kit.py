"""The unit-test platform: every core service wired to the memory adapters on a frozen clock."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from typing import Any

import attrs

from novapulse_adapters.crypto import (
    AesGcmSecretBox,
    Argon2PasswordHasher,
    JwtTokenIssuer,
    PyOtpTotp,
)
from novapulse_adapters.memory import (
    FrozenClock,
    InMemoryChallengeStore,
    InMemoryCompanyStore,
    InMemoryDepartmentStore,
    InMemoryEventBus,
    InMemoryMfaStore,
    InMemoryOtpReplayStore,
    InMemoryRateLimiter,
    InMemoryRefreshTokenStore,
    InMemoryTokenRevocations,
    InMemoryUserStore,
    SequentialIds,
)
from novapulse_core.domain.access import Principal
from novapulse_core.domain.auth import Authenticated, LoginOutcome
from novapulse_core.domain.events import DomainEvent
from novapulse_core.domain.identity import Company, Role, User
from novapulse_core.domain.limits import AttemptLimits
from novapulse_core.domain.mfa import TOTP_STEP
from novapulse_core.domain.sessions import SessionPolicy
from novapulse_core.ports import TokenRevocations, UserStore
from novapulse_core.services import (
    AuthService,
    CompanyService,
    DepartmentService,
    MfaService,
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
SECRET_BOX_KEY = bytes(range(32))
RECOVERY_CODE_KEY = b"unit-test-recovery-code-key-0123456789abcdef"
MFA_ISSUER = "NovaPulse"
POLICY = SessionPolicy()
LIMITS = AttemptLimits()
CLIENT = "203.0.113.7"


def fast_hasher(*, time_cost: int = 1, memory_cost_kib: int = 8) -> Argon2PasswordHasher:
    """Argon2id with the cheapest parameters, so a test hashes in microseconds."""
    return Argon2PasswordHasher(time_cost=time_cost, memory_cost_kib=memory_cost_kib, parallelism=1)


class Yielding:
    """An adapter that hands the event loop to others before every call, as a networked one
    does: concurrent requests interleave between their reads and writes."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        async def yielding(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0)
            return await method(*args, **kwargs)

        return yielding


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


@attrs.frozen
class Enrolled:
    """A member whose MFA is on: the secret their app holds and the recovery codes shown."""

    member: Member
    secret: str
    recovery_codes: tuple[str, ...]


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
        self.mfa_store = InMemoryMfaStore()
        self.replays = InMemoryOtpReplayStore(self.clock)
        self.challenges = InMemoryChallengeStore(self.clock)
        self.refresh_tokens = InMemoryRefreshTokenStore(self.clock)
        self.revocations = InMemoryTokenRevocations(self.clock)
        self.limiter = InMemoryRateLimiter(self.clock)
        self.totp = PyOtpTotp()
        self.box = AesGcmSecretBox(SECRET_BOX_KEY)
        self.announcer = Announcer(self.events, self.ids, self.clock)
        self.companies = CompanyService(
            self.company_store, self.user_store, self.hasher, self.ids, self.clock, self.announcer
        )
        self.users = UserService(
            self.user_store,
            self.company_store,
            self.hasher,
            self.ids,
            self.clock,
            self.announcer,
        )
        self.departments = DepartmentService(
            self.department_store, self.user_store, self.ids, self.clock, self.announcer
        )
        self.stats = StatsService(self.user_store, self.department_store)
        self.mfa = MfaService(
            self.mfa_store,
            self.user_store,
            self.totp,
            self.box,
            self.replays,
            self.limiter,
            self.hasher,
            self.clock,
            self.announcer,
            recovery_code_key=RECOVERY_CODE_KEY,
            issuer=MFA_ISSUER,
            limits=LIMITS,
        )
        self.auth = self.auth_with(self.hasher)
        self._emails = itertools.count(1)

    def auth_with(
        self,
        hasher: Argon2PasswordHasher,
        *,
        users: UserStore | None = None,
        revocations: TokenRevocations | None = None,
    ) -> AuthService:
        """An AuthService on this platform's stores and tokens, hashing with `hasher`."""
        return AuthService(
            users or self.user_store,
            hasher,
            self.tokens,
            self.ids,
            self.clock,
            access_token_ttl=TOKEN_TTL,
            companies=self.company_store,
            mfa=self.mfa,
            challenges=self.challenges,
            refresh_tokens=self.refresh_tokens,
            revocations=self.revocations if revocations is None else revocations,
            limiter=self.limiter,
            announcer=self.announcer,
            policy=POLICY,
            limits=LIMITS,
        )

    def code(self, secret: str, *, steps: int = 0) -> str:
        """The code an authenticator shows now, or `steps` time steps away from now."""
        return self.totp.code_at(secret, self.clock.now() + TOTP_STEP * steps)

    def next_step(self) -> None:
        """Move the clock into the next TOTP step, so a fresh code can be spent."""
        self.clock.advance(TOTP_STEP)

    async def enrol(self, member: Member) -> Enrolled:
        """Set up and confirm MFA for `member`, as their authenticator app would."""
        setup = await self.mfa.start_enrollment(member.principal)
        codes = await self.mfa.confirm_enrollment(member.principal, self.code(setup.secret))
        self.next_step()  # the confirming code is spent; tests start on a fresh step
        return Enrolled(member, setup.secret, codes)

    async def session(self, member: Member) -> Authenticated:
        """A full session of a member without MFA (fails the test otherwise)."""
        outcome = await self.auth.login(member.user.email, member.password)
        assert isinstance(outcome, Authenticated), outcome
        return outcome

    async def login(self, member: Member, **kwargs: str) -> LoginOutcome:
        return await self.auth.login(member.user.email, member.password, **kwargs)

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
