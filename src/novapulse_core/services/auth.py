"""Login (password, then a second factor when needed), sessions, and bearer authentication."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

import attrs

from novapulse_core.domain import events
from novapulse_core.domain.access import Principal
from novapulse_core.domain.auth import (
    ONE_TIME_PASSWORD,
    PASSWORD,
    AccessClaims,
    Authenticated,
    EnrollmentCompleted,
    EnrollmentRequired,
    LoginOutcome,
    MfaRequired,
    TokenScope,
)
from novapulse_core.domain.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from novapulse_core.domain.identity import (
    MAX_EMAIL_LENGTH,
    MAX_PASSWORD_LENGTH,
    User,
    check_password_strength,
    issued_before,
    normalise_email,
)
from novapulse_core.domain.limits import AttemptLimits
from novapulse_core.domain.mfa import TotpSetup
from novapulse_core.domain.sessions import LoginChallenge, SessionPolicy, new_token, token_digest
from novapulse_core.ports import (
    ChallengeStore,
    Clock,
    CompanyStore,
    IdGenerator,
    PasswordHasher,
    RateLimiter,
    RefreshTokenStore,
    TokenIssuer,
    TokenRevocations,
    UserStore,
)
from novapulse_core.services.announcer import Announcer
from novapulse_core.services.attempts import Attempts, Proof
from novapulse_core.services.mfa import MfaService
from novapulse_core.services.offload import off_loop
from novapulse_core.services.sessions import Sessions

_BAD_CREDENTIALS = "invalid email or password"
_BAD_CHALLENGE = "the MFA challenge is invalid or expired; log in again"

log = logging.getLogger(__name__)


class AuthService:
    """The seed's authentication flow: password, "MFA required?", challenge, tokens.

    Every failure of a password or code counts against the account and the client address
    (`client`, None when unknown); once a budget is spent, attempts raise `RateLimited`
    before any check, alike for known and unknown emails.
    """

    def __init__(
        self,
        users: UserStore,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        ids: IdGenerator,
        clock: Clock,
        *,
        access_token_ttl: timedelta,
        companies: CompanyStore,
        mfa: MfaService,
        challenges: ChallengeStore,
        refresh_tokens: RefreshTokenStore,
        revocations: TokenRevocations,
        limiter: RateLimiter,
        announcer: Announcer,
        policy: SessionPolicy | None = None,
        limits: AttemptLimits | None = None,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock
        self._companies = companies
        self._mfa = mfa
        self._challenges = challenges
        self._revocations = revocations
        self._announcer = announcer
        self._policy = policy or SessionPolicy()
        self._attempts = Attempts(limiter, limits or AttemptLimits())
        self._sessions = Sessions(
            users,
            tokens,
            refresh_tokens,
            revocations,
            ids,
            clock,
            announcer,
            access_token_ttl=access_token_ttl,
            policy=self._policy,
        )
        self.revocation_checks_skipped = 0
        """Tokens accepted without a revocation check because the list could not be read."""
        # Made now, so that the first login with an unknown email costs what the others do.
        self._decoy_hash = hasher.hash(secrets.token_urlsafe(16))

    async def login(self, email: str, password: str, *, client: str | None = None) -> LoginOutcome:
        """Check a password. Unknown, deactivated and wrong all fail alike and cost the same.

        A right password gives a session, or `MfaRequired` when the user has MFA, or
        `EnrollmentRequired` when the company requires MFA of the user's role and they have none.
        """
        user = await self._find(email)
        account = _account(email) if user is None else user.id
        await self._attempts.begin(Proof.PASSWORD, account, client)
        if user is None or len(password) > MAX_PASSWORD_LENGTH:
            await off_loop(self._hasher.verify, self._decoy_hash, password[:MAX_PASSWORD_LENGTH])
            user = None
        elif (
            not await off_loop(self._hasher.verify, user.password_hash, password) or not user.active
        ):
            user = None
        if user is None:
            raise Unauthenticated(_BAD_CREDENTIALS)
        await self._attempts.succeeded(Proof.PASSWORD, user.id, client)
        if self._hasher.needs_rehash(user.password_hash):
            user = await self._upgrade_hash(user, password)
        return await self._after_password(user)

    async def verify_challenge(
        self,
        challenge_token: str,
        *,
        code: str | None = None,
        recovery_code: str | None = None,
        client: str | None = None,
    ) -> Authenticated:
        """Finish an MFA login with one TOTP code or one recovery code; the challenge is spent
        by the first success and stays usable after a wrong code until it expires."""
        digest = token_digest(challenge_token)
        challenge = await self._challenges.get(digest)
        if challenge is None or challenge.expires_at <= self._clock.now():
            raise Unauthenticated(_BAD_CHALLENGE)
        user = await self._active_user(challenge.company_id, challenge.user_id)
        await self._mfa.verify_login(user, code=code, recovery_code=recovery_code, client=client)
        if await self._challenges.consume(digest) is None:
            raise Unauthenticated(_BAD_CHALLENGE)
        return await self._sessions.start(user, (PASSWORD, ONE_TIME_PASSWORD))

    async def confirm_enrollment(
        self, access_token: str, code: str, *, client: str | None = None
    ) -> EnrollmentCompleted:
        """Confirm the caller's pending MFA setup with a first valid code; the recovery codes
        come back this once. Called with an `mfa_enroll` token, the token is spent and traded
        for a full session; with a full token, the caller keeps the session it has."""
        claims = await self._verified(access_token)
        principal = await self._principal(claims)
        codes = await self._mfa.confirm_enrollment(principal, code, client=client)
        if claims.scope is not TokenScope.MFA_ENROLL:
            return EnrollmentCompleted(recovery_codes=codes, session=None)
        await self._sessions.revoke(claims)
        user = await self._active_user(claims.company_id, claims.subject)
        session = await self._sessions.start(user, (PASSWORD, ONE_TIME_PASSWORD))
        return EnrollmentCompleted(recovery_codes=codes, session=session)

    async def start_enrollment(
        self, access_token: str, *, password: str | None = None, client: str | None = None
    ) -> TotpSetup:
        """Start the caller's MFA setup (see `MfaService.start_enrollment`). With a full-scope
        token the caller's current password is needed too, checked against the same budget as
        wrong logins: a stolen access token alone cannot bind someone else's authenticator.
        An `mfa_enroll` token was issued by a password login moments ago, so it needs none."""
        claims = await self._verified(access_token)
        principal = await self._principal(claims)
        if claims.scope is not TokenScope.MFA_ENROLL:
            if password is None:
                raise Invalid(
                    "the current password is needed to start MFA setup with a full session",
                    extra={"field": "password"},
                )
            user = await self._active_user(claims.company_id, claims.subject)
            await self._check_password(user, password, client, field="password")
        return await self._mfa.start_enrollment(principal)

    async def change_password(
        self, actor: Principal, *, current: str, new: str, client: str | None = None
    ) -> None:
        """Replace the caller's password. Wrong current passwords count against the same budget
        as wrong logins, and a change ends every session of the user (refresh tokens revoked,
        access tokens issued before it void)."""
        user = await self._active_user(actor.company_id, actor.user_id)
        await self._check_password(user, current, client, field="current_password")
        check_password_strength(new)
        password_hash = await off_loop(self._hasher.hash, new)
        now = self._clock.now()
        changed = attrs.evolve(
            user,
            password_hash=password_hash,
            updated_at=now,
            tokens_valid_after=now,
            version=user.version + 1,
        )
        await self._users.update(changed)
        await self._sessions.end_all(user.company_id, user.id)
        await self._announcer.announce(
            events.USER_PASSWORD_CHANGED, user.company_id, user_id=user.id
        )

    async def refresh(self, refresh_token: str) -> Authenticated:
        """Exchange a refresh token for new tokens; reusing a spent one ends its session."""
        return await self._sessions.rotate(refresh_token)

    async def logout(
        self, access_token: str, *, refresh_token: str | None = None, everywhere: bool = False
    ) -> None:
        """Revoke the access token and its session (`everywhere`: every session of the user;
        access tokens of the other sessions live on until their short expiry)."""
        claims = await self._verified(access_token)
        await self._sessions.end(claims, refresh_token, everywhere=everywhere)

    async def authenticate(self, token: str) -> Principal:
        """The principal of a valid, unrevoked, full-scope token whose user still exists and is
        active, with its current role (a role change or deactivation applies at once)."""
        return await self.authenticate_verified(self._tokens.verify(token))

    async def authenticate_verified(self, claims: AccessClaims) -> Principal:
        """`authenticate` for the claims of a token the caller has verified already, with this
        service's token issuer (the API verifies a request's token once, for its rate limits
        and its handler): the revocation, scope and user checks."""
        claims = await self._unrevoked(claims)
        if claims.scope is not TokenScope.FULL:
            raise Forbidden("this token only allows setting up MFA")
        return await self._principal(claims)

    async def authenticate_for_enrollment(self, token: str) -> Principal:
        """Like `authenticate`, but an `mfa_enroll` token passes too: for the MFA setup routes."""
        return await self._principal(await self._verified(token))

    async def _check_password(
        self, user: User, password: str, client: str | None, *, field: str
    ) -> None:
        """Check the user's current password, sent as `field`, within its account's password
        budget (a wrong one counts like a wrong login and raises `Unauthenticated` naming the
        field: the body is wrong, not the token)."""
        await self._attempts.begin(Proof.PASSWORD, user.id, client)
        if not await off_loop(self._hasher.verify, user.password_hash, password):
            raise Unauthenticated("the current password is wrong", extra={"field": field})
        await self._attempts.succeeded(Proof.PASSWORD, user.id, client)

    async def _after_password(self, user: User) -> LoginOutcome:
        if await self._mfa.is_enabled(user):
            return await self._challenge(user)
        company = await self._companies.get(user.company_id)
        if user.role in company.mfa_required_roles:
            token, claims = self._sessions.enrollment_token(user)
            expires_at = claims.expires_at
            return EnrollmentRequired(user=user, enrollment_token=token, expires_at=expires_at)
        return await self._sessions.start(user, (PASSWORD,))

    async def _challenge(self, user: User) -> MfaRequired:
        token, now = new_token(), self._clock.now()
        challenge = LoginChallenge(
            token_digest=token_digest(token),
            user_id=user.id,
            company_id=user.company_id,
            created_at=now,
            expires_at=now + self._policy.challenge_ttl,
        )
        await self._challenges.add(challenge)
        return MfaRequired(challenge_token=token, expires_at=challenge.expires_at)

    async def _verified(self, token: str) -> AccessClaims:
        """A valid, unrevoked token's claims."""
        return await self._unrevoked(self._tokens.verify(token))

    async def _unrevoked(self, claims: AccessClaims) -> AccessClaims:
        """`claims`, unless their token is revoked. While the revocation list cannot be read
        (Redis down), a signed, unexpired token passes: access tokens live minutes, and the API
        keeps serving (the seed's failure handling); each such pass is counted and logged."""
        try:
            revoked = await self._revocations.is_revoked(claims.token_id)
        except Unavailable:
            self.revocation_checks_skipped += 1
            if self.revocation_checks_skipped % 1000 == 1:
                log.warning("token revocations unavailable; signed tokens accepted meanwhile")
            return claims
        if revoked:
            raise Unauthenticated("the access token has been revoked")
        return claims

    async def _principal(self, claims: AccessClaims) -> Principal:
        try:
            user = await self._users.get(claims.company_id, claims.subject)
        except NotFound:
            raise Unauthenticated("the token's user no longer exists") from None
        if not user.active:
            raise Unauthenticated("the token's user is deactivated")
        if issued_before(claims.issued_at, user):
            raise Unauthenticated("the access token was issued before the user's tokens were void")
        return Principal(user.id, user.company_id, user.role)

    async def _active_user(self, company_id: str, user_id: str) -> User:
        try:
            user = await self._users.get(company_id, user_id)
        except NotFound:
            raise Unauthenticated(_BAD_CHALLENGE) from None
        if not user.active:
            raise Unauthenticated(_BAD_CHALLENGE)
        return user

    async def _find(self, email: str) -> User | None:
        try:
            normalised = normalise_email(email)
        except Invalid:
            return None
        return await self._users.find_by_email(normalised)

    async def _upgrade_hash(self, user: User, password: str) -> User:
        """Re-hash with the current parameters; a failure to save must not fail the login."""
        upgraded = attrs.evolve(
            user,
            password_hash=await off_loop(self._hasher.hash, password),
            version=user.version + 1,
        )
        try:
            await self._users.update(upgraded)
        except (Conflict, Unavailable):
            log.warning("password hash upgrade not saved; will retry at next login")
            return user
        return upgraded


def _account(email: str) -> str:
    """The key failed passwords for an unknown email are counted under: the email as typed,
    trimmed and lowered (valid or not). A user's own are counted under its id, so changing the
    email starts no new count; both budgets are the same size, so the count says nothing
    about who exists."""
    return email.strip().lower()[: MAX_EMAIL_LENGTH + 1]
