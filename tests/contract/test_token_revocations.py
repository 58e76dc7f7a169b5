"""The `TokenRevocations` contract, run against every adapter."""

from __future__ import annotations

from datetime import timedelta

from novapulse_adapters.memory import FrozenClock
from novapulse_core.ports.sessions import TokenRevocations

TTL = timedelta(minutes=15)


async def test_a_token_is_not_revoked_until_it_is(
    token_revocations: TokenRevocations, store_clock: FrozenClock
) -> None:
    assert not await token_revocations.is_revoked("jti-1")

    await token_revocations.revoke("jti-1", store_clock.now() + TTL)

    assert await token_revocations.is_revoked("jti-1")
    assert not await token_revocations.is_revoked("jti-2")


async def test_a_revocation_lasts_until_the_token_expires(
    token_revocations: TokenRevocations, store_clock: FrozenClock
) -> None:
    await token_revocations.revoke("jti-1", store_clock.now() + TTL)

    store_clock.advance(TTL - timedelta(milliseconds=1))
    assert await token_revocations.is_revoked("jti-1")

    store_clock.advance(timedelta(milliseconds=1))
    assert not await token_revocations.is_revoked("jti-1")


async def test_revoking_twice_is_harmless(
    token_revocations: TokenRevocations, store_clock: FrozenClock
) -> None:
    await token_revocations.revoke("jti-1", store_clock.now() + TTL)
    await token_revocations.revoke("jti-1", store_clock.now() + TTL)

    assert await token_revocations.is_revoked("jti-1")
