"""TOTP multi-factor authentication: enrollment, recovery codes, disabling, proving a code."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

import attrs

from novapulse_core.domain import events
from novapulse_core.domain.access import Principal
from novapulse_core.domain.errors import Conflict, Invalid, Unauthenticated
from novapulse_core.domain.identity import User
from novapulse_core.domain.limits import AttemptLimits
from novapulse_core.domain.mfa import (
    TOTP_DRIFT_STEPS,
    MfaRecord,
    MfaStatus,
    RecoveryCode,
    TotpSetup,
    new_recovery_codes,
    normalise_totp_code,
    recovery_code_digest,
    totp_step_end,
)
from novapulse_core.ports import (
    Clock,
    MfaStore,
    OtpReplayStore,
    PasswordHasher,
    RateLimiter,
    SecretBox,
    Totp,
    UserStore,
)
from novapulse_core.services.announcer import Announcer
from novapulse_core.services.attempts import Attempts, Proof
from novapulse_core.services.offload import off_loop

DEFAULT_ISSUER = "NovaPulse"
_BAD_CODE = "the code is not valid"


class MfaService:
    """A user's TOTP factor. Secrets leave only through `start_enrollment`; recovery codes only
    through `confirm_enrollment` and `regenerate_recovery_codes`, once, and are stored as keyed
    digests (see `recovery_code_digest`) under `recovery_code_key`; codes digested under one of
    `previous_recovery_code_keys` still work, so that key can be rotated. Every code is
    accepted at most once, and wrong codes count against the user's and the client's attempt
    budgets.
    """

    def __init__(
        self,
        store: MfaStore,
        users: UserStore,
        totp: Totp,
        box: SecretBox,
        replays: OtpReplayStore,
        limiter: RateLimiter,
        hasher: PasswordHasher,
        clock: Clock,
        announcer: Announcer,
        *,
        recovery_code_key: bytes,
        previous_recovery_code_keys: Sequence[bytes] = (),
        issuer: str = DEFAULT_ISSUER,
        limits: AttemptLimits | None = None,
    ) -> None:
        if any(len(key) < 32 for key in (recovery_code_key, *previous_recovery_code_keys)):
            raise ValueError("recovery code keys must be at least 32 bytes")
        self._store = store
        self._users = users
        self._totp = totp
        self._box = box
        self._replays = replays
        self._hasher = hasher
        self._clock = clock
        self._announcer = announcer
        self._recovery_code_key = recovery_code_key
        self._recovery_code_keys = (recovery_code_key, *previous_recovery_code_keys)
        self._issuer = issuer
        self._attempts = Attempts(limiter, limits or AttemptLimits())

    async def status(self, actor: Principal) -> MfaStatus:
        record = await self._store.get(actor.company_id, actor.user_id)
        if record is None:
            return MfaStatus(enabled=False, pending=False, enabled_at=None, recovery_codes_left=0)
        return MfaStatus(
            enabled=record.enabled,
            pending=not record.enabled,
            enabled_at=record.confirmed_at,
            recovery_codes_left=record.recovery_codes_left,
        )

    async def is_enabled(self, user: User) -> bool:
        record = await self._store.get(user.company_id, user.id)
        return record is not None and record.enabled

    async def start_enrollment(self, actor: Principal) -> TotpSetup:
        """A new secret for the actor, pending until confirmed; restarting replaces it.

        This does not prove who the actor is: the API starts setup through
        `AuthService.start_enrollment`, which asks a full session for the current password."""
        user = await self._users.get(actor.company_id, actor.user_id)
        record = await self._store.get(user.company_id, user.id)
        if record is not None and record.enabled:
            raise Conflict("MFA is already enabled; disable it before setting it up again")
        secret = self._totp.new_secret()
        sealed = self._box.encrypt(secret, context=_context(user.company_id, user.id))
        now = self._clock.now()
        if record is None:
            pending = MfaRecord(user.company_id, user.id, sealed, created_at=now, updated_at=now)
            await self._store.add(pending)
        else:
            await self._store.update(
                attrs.evolve(
                    record, encrypted_secret=sealed, updated_at=now, version=record.version + 1
                )
            )
        uri = self._totp.provisioning_uri(secret, account=user.email, issuer=self._issuer)
        return TotpSetup(secret=secret, uri=uri, account=user.email, issuer=self._issuer)

    async def confirm_enrollment(
        self, actor: Principal, code: str, *, client: str | None = None
    ) -> tuple[str, ...]:
        """Turn MFA on with a first valid code; returns the recovery codes, shown this once."""
        record = await self._store.get(actor.company_id, actor.user_id)
        if record is None:
            raise Conflict("start MFA setup before confirming it")
        if record.enabled:
            raise Conflict("MFA is already enabled")
        if not await self._prove(record, code=code, recovery_code=None, client=client):
            raise Invalid(_BAD_CODE, extra={"field": "code"})
        now = self._clock.now()
        codes = new_recovery_codes()
        await self._store.update(
            attrs.evolve(
                record,
                confirmed_at=now,
                updated_at=now,
                recovery_codes=self._stored_codes(record.user_id, codes),
                version=record.version + 1,
            )
        )
        await self._announcer.announce(events.MFA_ENABLED, actor.company_id, user_id=actor.user_id)
        return codes

    async def regenerate_recovery_codes(
        self, actor: Principal, code: str, *, client: str | None = None
    ) -> tuple[str, ...]:
        """New recovery codes for a current TOTP code; the old ones stop working."""
        record = await self._enabled_record(actor)
        if not await self._prove(record, code=code, recovery_code=None, client=client):
            raise Invalid(_BAD_CODE, extra={"field": "code"})
        codes = new_recovery_codes()
        await self._store.update(
            attrs.evolve(
                record,
                recovery_codes=self._stored_codes(record.user_id, codes),
                updated_at=self._clock.now(),
                version=record.version + 1,
            )
        )
        await self._announcer.announce(
            events.MFA_RECOVERY_CODES_REGENERATED, actor.company_id, user_id=actor.user_id
        )
        return codes

    async def disable(
        self, actor: Principal, *, password: str, code: str, client: str | None = None
    ) -> None:
        """Turn MFA off; needs the actor's password and a current TOTP code."""
        user = await self._users.get(actor.company_id, actor.user_id)
        record = await self._enabled_record(actor)
        await self._attempts.begin(Proof.PASSWORD, user.id, client)
        if not await off_loop(self._hasher.verify, user.password_hash, password):
            raise Invalid("the password is wrong", extra={"field": "password"})
        await self._attempts.succeeded(Proof.PASSWORD, user.id, client)
        if not await self._prove(record, code=code, recovery_code=None, client=client):
            raise Invalid(_BAD_CODE, extra={"field": "code"})
        await self._store.delete(actor.company_id, actor.user_id)
        await self._announcer.announce(events.MFA_DISABLED, actor.company_id, user_id=user.id)

    async def verify_login(
        self,
        user: User,
        *,
        code: str | None = None,
        recovery_code: str | None = None,
        client: str | None = None,
    ) -> None:
        """Prove the second factor of a login with one TOTP code or one recovery code.

        Raises `Unauthenticated` for a wrong, reused or missing factor, `RateLimited` once the
        user's or the client's failures fill their window.
        """
        if (code is None) == (recovery_code is None):
            raise Invalid("send either a code or a recovery code", extra={"field": "code"})
        record = await self._store.get(user.company_id, user.id)
        if record is None or not record.enabled:
            raise Unauthenticated(_BAD_CODE)
        if not await self._prove(record, code=code, recovery_code=recovery_code, client=client):
            raise Unauthenticated(_BAD_CODE)

    async def _enabled_record(self, actor: Principal) -> MfaRecord:
        record = await self._store.get(actor.company_id, actor.user_id)
        if record is None or not record.enabled:
            raise Conflict("MFA is not enabled")
        return record

    async def _prove(
        self,
        record: MfaRecord,
        *,
        code: str | None,
        recovery_code: str | None,
        client: str | None,
    ) -> bool:
        await self._attempts.begin(Proof.CODE, record.user_id, client)
        if code is not None:
            proven = await self._totp_proven(record, code)
        else:
            proven = await self._recovery_code_proven(record, recovery_code or "")
        if proven:
            await self._attempts.succeeded(Proof.CODE, record.user_id, client)
        return proven

    async def _totp_proven(self, record: MfaRecord, code: str) -> bool:
        """A matching code whose step this user has not spent yet (the spend is recorded)."""
        secret = self._box.decrypt(
            record.encrypted_secret, context=_context(record.company_id, record.user_id)
        )
        step = self._totp.match(secret, normalise_totp_code(code), self._clock.now())
        if step is None:
            return False
        # Once every node's clock is past the drift window, the step can no longer match.
        expires_at = totp_step_end(step + TOTP_DRIFT_STEPS)
        return await self._replays.claim(record.user_id, step, expires_at)

    async def _recovery_code_proven(self, record: MfaRecord, code: str) -> bool:
        if not record.enabled:
            return False
        unused = [c.digest for c in record.recovery_codes if c.used_at is None]
        digest = self._matching_digest(record.user_id, code, unused)
        if digest is None:
            return False
        now = self._clock.now()
        if not await self._store.use_recovery_code(record.company_id, record.user_id, digest, now):
            return False
        await self._announcer.announce(
            events.MFA_RECOVERY_CODE_USED,
            record.company_id,
            user_id=record.user_id,
            recovery_codes_left=len(unused) - 1,
        )
        return True

    def _matching_digest(self, user_id: str, code: str, unused: list[str]) -> str | None:
        """The stored digest `code` has under the current key or a previous one, if any;
        every pair is compared, in constant time."""
        found = None
        for key in self._recovery_code_keys:
            digest = recovery_code_digest(key, user_id, code)
            for candidate in unused:
                if hmac.compare_digest(candidate, digest):
                    found = candidate
        return found

    def _stored_codes(self, user_id: str, codes: tuple[str, ...]) -> tuple[RecoveryCode, ...]:
        key = self._recovery_code_key
        return tuple(RecoveryCode(recovery_code_digest(key, user_id, code)) for code in codes)


def _context(company_id: str, user_id: str) -> str:
    """What a sealed TOTP secret is bound to: it opens for this user only."""
    return f"mfa-totp:{company_id}:{user_id}"
