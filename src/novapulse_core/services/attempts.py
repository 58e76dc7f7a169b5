"""Failed-attempt budgets per account and per client address, kept in the `RateLimiter`."""

from __future__ import annotations

import enum
import logging

from novapulse_core.domain.errors import RateLimited, Unavailable
from novapulse_core.domain.limits import AttemptLimits
from novapulse_core.ports import RateLimiter

_TOO_MANY = "too many failed attempts; try again later"

log = logging.getLogger(__name__)


class Proof(enum.StrEnum):
    """What is being guessed: a password (keyed by email) or a code (keyed by user id)."""

    PASSWORD = "password"  # noqa: S105 - a kind of proof, not a password
    CODE = "code"


class Attempts:
    """Refuses attempts once an account's or a client's failed attempts fill their window.

    Callers `begin` before verifying: the attempt is counted then, against the account's and
    the client's budgets at once (all or none), so guesses sent together each take their place
    before any of them is verified, and none gets past a full budget. After a right guess they
    call `succeeded`: the account's count starts again, and the client's attempt is given back
    (an address counts failures only, offices share addresses; and an attacker must not clear
    their address's record with their own account). A wrong guess needs nothing more: it was
    counted. `client` None counts the account only. A limiter that cannot be reached lets
    attempts through (the seed's "fails open"), counted in `failed_open` and logged.
    """

    def __init__(self, limiter: RateLimiter, limits: AttemptLimits) -> None:
        self._limiter = limiter
        self._limits = limits
        self.failed_open = 0
        """Checks let through because the limiter could not be reached (seed: fail open)."""

    async def begin(self, proof: Proof, account: str, client: str | None) -> None:
        window = self._limits.window
        try:
            answers = await self._limiter.hit_all(
                [(key, limit, window) for key, limit in self._keys(proof, account, client)]
            )
        except Unavailable:
            self._fail_open()
            return
        if not answers[-1].allowed:  # the answers stop at a refusal; nothing was counted
            raise RateLimited(_TOO_MANY, retry_after=answers[-1].retry_after)

    async def succeeded(self, proof: Proof, account: str, client: str | None) -> None:
        try:
            await self._limiter.reset(self._account_key(proof, account))
            if client is not None:
                await self._limiter.undo(_client_key(client))
        except Unavailable:
            self._fail_open()

    def _fail_open(self) -> None:
        self.failed_open += 1
        if self.failed_open == 1 or self.failed_open % 1000 == 0:
            log.warning(
                "rate limiter unavailable; attempts are let through (%d so far)", self.failed_open
            )

    def _keys(self, proof: Proof, account: str, client: str | None) -> list[tuple[str, int]]:
        per_account = (
            self._limits.password_per_account
            if proof is Proof.PASSWORD
            else self._limits.code_per_account
        )
        keys = [(self._account_key(proof, account), per_account)]
        if client is not None:
            keys.append((_client_key(client), self._limits.per_client))
        return keys

    @staticmethod
    def _account_key(proof: Proof, account: str) -> str:
        return f"auth:{proof.value}:{account}"


def _client_key(client: str) -> str:
    return f"auth:client:{client}"
