"""TOTP multi-factor authentication: the per-user record, its status, and recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta

import attrs

TOTP_STEP = timedelta(seconds=30)
"""RFC 6238 time step."""

TOTP_DRIFT_STEPS = 1
"""Steps of clock drift accepted either side of the current one."""

RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32: no i, l, o, u
RECOVERY_CODE_LENGTH = 16  # 80 random bits, shown as four groups of four
_CROCKFORD_ALIASES = str.maketrans({"i": "1", "l": "1", "o": "0"})
_SEPARATORS = re.compile(r"[\s-]+")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@attrs.frozen
class RecoveryCode:
    """A stored recovery code: its keyed digest, and when it was used (None while unused)."""

    digest: str
    used_at: datetime | None = None


@attrs.frozen
class MfaRecord:
    """A user's TOTP factor. Pending until `confirmed_at` is set by a first valid code.

    `encrypted_secret` is the `SecretBox` ciphertext of the base32 secret, never the secret.
    """

    company_id: str
    user_id: str
    encrypted_secret: str = attrs.field(repr=False)
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None = None
    recovery_codes: tuple[RecoveryCode, ...] = ()
    version: int = 1

    @property
    def enabled(self) -> bool:
        return self.confirmed_at is not None

    @property
    def recovery_codes_left(self) -> int:
        return sum(1 for code in self.recovery_codes if code.used_at is None)


@attrs.frozen
class MfaStatus:
    """What a user may know of their factor: never the secret, never the codes."""

    enabled: bool
    pending: bool
    enabled_at: datetime | None
    recovery_codes_left: int


@attrs.frozen
class TotpSetup:
    """The one time a secret leaves the service: to be put into an authenticator app.

    `uri` is the `otpauth://` URI; the entry point may draw it as a QR code.
    """

    secret: str = attrs.field(repr=False)
    uri: str = attrs.field(repr=False)
    account: str
    issuer: str


def totp_step(at: datetime) -> int:
    """The RFC 6238 time step `at` falls in."""
    return int((at - _EPOCH) // TOTP_STEP)


def totp_step_end(step: int) -> datetime:
    """The first instant after `step`."""
    return _EPOCH + TOTP_STEP * (step + 1)


def normalise_totp_code(raw: str) -> str:
    """Drop the spaces and dashes people type or paste inside a code."""
    return _SEPARATORS.sub("", raw)


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> tuple[str, ...]:
    """Fresh recovery codes as shown to the user, `xxxx-xxxx-xxxx-xxxx`.

    Drawn from `secrets` directly: codes must come from a CSPRNG and tests read them from the
    result rather than predicting them.
    """
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4)))
    return tuple(codes)


def normalise_recovery_code(raw: str) -> str:
    """The canonical form of a typed code: lower case, no separators, i/l read as 1 and o as 0."""
    return _SEPARATORS.sub("", raw).lower().translate(_CROCKFORD_ALIASES)


def recovery_code_digest(key: bytes, user_id: str, code: str) -> str:
    """HMAC-SHA256 of the canonical code, keyed by a server secret and salted by the user id.

    Codes carry 80 random bits, so a fast keyed hash is the right tool (NIST SP 800-63B allows
    it for look-up secrets when the key is kept apart from the digests): a leaked database alone
    cannot be brute-forced, and no slow hash has to be tried ten times per attempt.
    """
    message = f"{user_id}:{normalise_recovery_code(code)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
