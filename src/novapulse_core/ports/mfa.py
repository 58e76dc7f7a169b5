"""One-time passwords, the secret box that protects their secrets, and the MFA stores."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from novapulse_core.domain.mfa import MfaRecord


class Totp(Protocol):
    """RFC 6238 time-based one-time passwords: 30-second steps from the Unix epoch, HMAC-SHA1,
    as many digits as the adapter is configured for (6 unless said otherwise).

    `new_secret` returns a fresh random base32 secret (upper case, no padding) of at least 160
    bits. `provisioning_uri` returns the `otpauth://totp/` URI an authenticator app reads, with
    `issuer` as label prefix and `issuer` parameter and `account` as label. `code_at` returns the
    code an authenticator shows at `at`. `match` returns the time step (Unix seconds // 30) whose
    code equals `code`, trying the step of `at` and one step either side, comparing in constant
    time; None for a wrong, malformed or wrong-length code. It never raises for a bad code.
    """

    def new_secret(self) -> str: ...

    def provisioning_uri(self, secret: str, *, account: str, issuer: str) -> str: ...

    def code_at(self, secret: str, at: datetime) -> str: ...

    def match(self, secret: str, code: str, at: datetime) -> int | None: ...


class SecretBox(Protocol):
    """Protects short secrets at rest with a key from the settings.

    `encrypt` returns printable ASCII; `decrypt` returns the plaintext of what `encrypt` returned
    with the same `context` (which binds a ciphertext to its owner: another owner's cannot be
    swapped in). `decrypt` raises `Unavailable` (the key needed is not there) for a changed
    ciphertext, another context, or a ciphertext the configured keys cannot open. Encrypting the
    same plaintext twice gives different ciphertexts. Whether the ciphertext hides the plaintext
    is the adapter's promise: the real ones do, the in-memory one says it does not.
    """

    def encrypt(self, plaintext: str, *, context: str) -> str: ...

    def decrypt(self, ciphertext: str, *, context: str) -> str: ...


class MfaStore(Protocol):
    """At most one MFA record per user, scoped by company.

    `get` returns None when the user has no record in that company (even if one exists under
    another company). `add` raises `Conflict` when the user already has one. `update` replaces
    the record whose version is `record.version - 1`, raising `Conflict` when the stored version
    differs and `NotFound` when it is gone. `delete` raises `NotFound` when there is nothing to
    delete. `use_recovery_code` atomically marks the unused recovery code with `digest` of a
    confirmed record as used at `at`, bumping the version and `updated_at`, and says whether it
    did: of two concurrent uses of one code exactly one gets True.
    """

    async def get(self, company_id: str, user_id: str) -> MfaRecord | None: ...

    async def add(self, record: MfaRecord) -> None: ...

    async def update(self, record: MfaRecord) -> None: ...

    async def delete(self, company_id: str, user_id: str) -> None: ...

    async def use_recovery_code(
        self, company_id: str, user_id: str, digest: str, at: datetime
    ) -> bool: ...


class OtpReplayStore(Protocol):
    """Remembers which TOTP steps each user has already spent.

    `claim` is set-if-absent: True the first time for (user_id, step), False while that claim
    lives; of concurrent claims exactly one gets True. A claim lives until `expires_at` by the
    adapter's injected clock, after which the pair may be claimed again.
    """

    async def claim(self, user_id: str, step: int, expires_at: datetime) -> bool: ...
