"""Password login issuing access tokens, and turning a bearer token back into a principal."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

import attrs

from novapulse_core.domain.access import Principal
from novapulse_core.domain.auth import AccessClaims, Authenticated, LoginOutcome
from novapulse_core.domain.errors import Conflict, Invalid, NotFound, Unauthenticated, Unavailable
from novapulse_core.domain.identity import MAX_PASSWORD_LENGTH, User, normalise_email
from novapulse_core.ports import Clock, IdGenerator, PasswordHasher, TokenIssuer, UserStore

_BAD_CREDENTIALS = "invalid email or password"

log = logging.getLogger(__name__)


class AuthService:
    def __init__(
        self,
        users: UserStore,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        ids: IdGenerator,
        clock: Clock,
        *,
        access_token_ttl: timedelta,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._tokens = tokens
        self._ids = ids
        self._clock = clock
        self._access_token_ttl = access_token_ttl
        # Made now, so that the first login with an unknown email costs what the others do.
        self._decoy_hash = hasher.hash(secrets.token_urlsafe(16))

    async def login(self, email: str, password: str) -> LoginOutcome:
        """Check a password. Unknown, deactivated and wrong all fail alike and cost the same."""
        user = await self._find(email)
        if user is None or len(password) > MAX_PASSWORD_LENGTH:
            self._hasher.verify(self._decoy_hash, password[:MAX_PASSWORD_LENGTH])
            raise Unauthenticated(_BAD_CREDENTIALS)
        if not self._hasher.verify(user.password_hash, password) or not user.active:
            raise Unauthenticated(_BAD_CREDENTIALS)
        if self._hasher.needs_rehash(user.password_hash):
            user = await self._upgrade_hash(user, password)
        return self._issue(user)

    async def authenticate(self, token: str) -> Principal:
        """The principal of a valid token whose user still exists and is active, with its
        current role (a role change or deactivation takes effect on the next request)."""
        claims = self._tokens.verify(token)
        try:
            user = await self._users.get(claims.company_id, claims.subject)
        except NotFound:
            raise Unauthenticated("the token's user no longer exists") from None
        if not user.active:
            raise Unauthenticated("the token's user is deactivated")
        return Principal(user_id=user.id, company_id=user.company_id, role=user.role)

    def _issue(self, user: User) -> Authenticated:
        now = self._clock.now()
        claims = AccessClaims(
            subject=user.id,
            company_id=user.company_id,
            role=user.role,
            token_id=self._ids.new_id(),
            issued_at=now,
            expires_at=now + self._access_token_ttl,
        )
        return Authenticated(
            user=user, access_token=self._tokens.issue(claims), expires_at=claims.expires_at
        )

    async def _find(self, email: str) -> User | None:
        try:
            normalised = normalise_email(email)
        except Invalid:
            return None
        return await self._users.find_by_email(normalised)

    async def _upgrade_hash(self, user: User, password: str) -> User:
        """Re-hash with the current parameters; a failure to save must not fail the login."""
        upgraded = attrs.evolve(
            user, password_hash=self._hasher.hash(password), version=user.version + 1
        )
        try:
            await self._users.update(upgraded)
        except (Conflict, Unavailable):
            log.warning("password hash upgrade not saved; will retry at next login")
            return user
        return upgraded
