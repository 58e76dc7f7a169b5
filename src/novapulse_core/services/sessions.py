"""Sessions: an access token plus a rotating refresh token, one family per login."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from novapulse_core.domain import events
from novapulse_core.domain.auth import PASSWORD, AccessClaims, Authenticated, TokenScope
from novapulse_core.domain.errors import NotFound, Unauthenticated
from novapulse_core.domain.identity import User, issued_before
from novapulse_core.domain.sessions import RefreshToken, SessionPolicy, new_token, token_digest
from novapulse_core.ports import (
    Clock,
    IdGenerator,
    RefreshTokenStore,
    TokenIssuer,
    TokenRevocations,
    UserStore,
)
from novapulse_core.services.announcer import Announcer

_BAD_REFRESH = "the refresh token is invalid or expired"

log = logging.getLogger(__name__)


class Sessions:
    """Issues, rotates and ends sessions for `AuthService` (which owns the public API).

    A refresh token is exchanged once: the exchange marks it used and hands out a new one of
    the same family. Presenting a used one again means it leaked, so the whole family goes.
    """

    def __init__(
        self,
        users: UserStore,
        tokens: TokenIssuer,
        refresh_tokens: RefreshTokenStore,
        revocations: TokenRevocations,
        ids: IdGenerator,
        clock: Clock,
        announcer: Announcer,
        *,
        access_token_ttl: timedelta,
        policy: SessionPolicy,
    ) -> None:
        self._users = users
        self._tokens = tokens
        self._refresh_tokens = refresh_tokens
        self._revocations = revocations
        self._ids = ids
        self._clock = clock
        self._announcer = announcer
        self._access_token_ttl = access_token_ttl
        self._policy = policy

    async def start(self, user: User, amr: tuple[str, ...]) -> Authenticated:
        """A new session (refresh-token family) for a user who just proved `amr`."""
        ends = self._clock.now() + self._policy.session_max_age
        return await self._issue(user, amr, family_id=self._ids.new_id(), session_ends=ends)

    async def rotate(self, refresh_token: str) -> Authenticated:
        """The next tokens of the session. A reuse of the spent token that lands between its
        use here and the successor's `add` revokes a family that does not hold the successor
        yet: the spent token is then gone too, so a second look at it tells, and the successor
        goes the same way."""
        now, digest = self._clock.now(), token_digest(refresh_token)
        record = await self._refresh_tokens.use(digest, now)
        if record is None or record.expires_at <= now:
            raise Unauthenticated(_BAD_REFRESH)
        if record.used_at is not None:
            await self._reused(record)
            raise Unauthenticated(_BAD_REFRESH)
        try:
            user = await self._users.get(record.company_id, record.user_id)
        except NotFound:
            user = None
        if user is None or not user.active or issued_before(record.issued_at, user):
            await self._refresh_tokens.revoke_family(record.family_id)
            raise Unauthenticated(_BAD_REFRESH)
        renewed = await self._issue(
            user, record.amr, family_id=record.family_id, session_ends=record.session_expires_at
        )
        if await self._refresh_tokens.use(digest, now) is None:
            await self._refresh_tokens.revoke_family(record.family_id)
            raise Unauthenticated(_BAD_REFRESH)
        return renewed

    async def end(
        self, claims: AccessClaims, refresh_token: str | None, *, everywhere: bool
    ) -> None:
        """Revoke the access token and its session (or every session of its user)."""
        await self.revoke(claims)
        if everywhere:
            await self._refresh_tokens.revoke_user(claims.company_id, claims.subject)
            return
        families = set() if claims.session_id is None else {claims.session_id}
        if refresh_token is not None:
            record = await self._refresh_tokens.use(token_digest(refresh_token), self._clock.now())
            if record is not None and record.user_id == claims.subject:
                families.add(record.family_id)
        for family_id in families:
            await self._refresh_tokens.revoke_family(family_id)

    async def end_all(self, company_id: str, user_id: str) -> None:
        """End every session of the user (its refresh tokens stop working)."""
        await self._refresh_tokens.revoke_user(company_id, user_id)

    async def revoke(self, claims: AccessClaims) -> None:
        """Put one access token on the revocation list for as long as it could verify."""
        until = claims.expires_at + self._policy.revocation_margin
        await self._revocations.revoke(claims.token_id, until)

    def enrollment_token(self, user: User) -> tuple[str, AccessClaims]:
        """An access token that only opens MFA setup, outside any session."""
        ttl = self._policy.enrollment_token_ttl
        claims = self._claims(user, (PASSWORD,), None, ttl=ttl, scope=TokenScope.MFA_ENROLL)
        return self._tokens.issue(claims), claims

    async def _issue(
        self, user: User, amr: tuple[str, ...], *, family_id: str, session_ends: datetime
    ) -> Authenticated:
        claims = self._claims(user, amr, family_id, ttl=self._access_token_ttl)
        refresh = new_token()
        record = RefreshToken(
            token_digest=token_digest(refresh),
            family_id=family_id,
            user_id=user.id,
            company_id=user.company_id,
            amr=amr,
            issued_at=claims.issued_at,
            expires_at=min(claims.issued_at + self._policy.refresh_token_ttl, session_ends),
            session_expires_at=session_ends,
        )
        await self._refresh_tokens.add(record)
        return Authenticated(
            user=user,
            access_token=self._tokens.issue(claims),
            expires_at=claims.expires_at,
            refresh_token=refresh,
            refresh_expires_at=record.expires_at,
            amr=amr,
        )

    def _claims(
        self,
        user: User,
        amr: tuple[str, ...],
        family_id: str | None,
        *,
        ttl: timedelta,
        scope: TokenScope = TokenScope.FULL,
    ) -> AccessClaims:
        now = self._clock.now()
        return AccessClaims(
            subject=user.id,
            company_id=user.company_id,
            role=user.role,
            token_id=self._ids.new_id(),
            issued_at=now,
            expires_at=now + ttl,
            amr=amr,
            scope=scope,
            session_id=family_id,
        )

    async def _reused(self, record: RefreshToken) -> None:
        await self._refresh_tokens.revoke_family(record.family_id)
        log.warning("a used refresh token was presented again; its session is revoked")
        await self._announcer.announce(
            events.SESSION_REFRESH_REUSED,
            record.company_id,
            user_id=record.user_id,
            session_id=record.family_id,
        )
