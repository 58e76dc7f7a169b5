"""Brute force: failed passwords and codes are limited per account and per client address."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest

from novapulse_core.domain.auth import Authenticated, MfaRequired
from novapulse_core.domain.errors import RateLimited, Unauthenticated, Unavailable
from novapulse_core.domain.identity import Role
from novapulse_core.domain.limits import AttemptLimits, RateDecision
from novapulse_core.services.attempts import Attempts, Proof

from .kit import CLIENT, LIMITS, PASSWORD, Enrolled, Member, Platform, Tenant, Yielding

WRONG = "not the password"
OTHER_CLIENT = "198.51.100.9"


@pytest.fixture
async def member(platform: Platform, acme: Tenant) -> Member:
    return await platform.add_user(acme, Role.MEMBER)


async def fail_logins(platform: Platform, email: str, times: int, client: str = CLIENT) -> None:
    for _ in range(times):
        with pytest.raises(Unauthenticated):
            await platform.auth.login(email, WRONG, client=client)


async def test_an_account_locks_after_the_allowed_failures_even_for_the_right_password(
    platform: Platform, member: Member
) -> None:
    await fail_logins(platform, member.user.email, LIMITS.password_per_account)

    with pytest.raises(RateLimited) as limited:
        await platform.auth.login(member.user.email, PASSWORD, client=OTHER_CLIENT)

    assert limited.value.retry_after == LIMITS.window.total_seconds()


async def test_the_lock_lifts_when_the_failures_leave_the_window(
    platform: Platform, member: Member
) -> None:
    await fail_logins(platform, member.user.email, LIMITS.password_per_account)
    platform.clock.advance(LIMITS.window - timedelta(seconds=1))

    with pytest.raises(RateLimited) as limited:
        await platform.auth.login(member.user.email, PASSWORD)
    assert limited.value.retry_after == 1

    platform.clock.advance(timedelta(seconds=1))
    assert isinstance(await platform.auth.login(member.user.email, PASSWORD), Authenticated)


async def test_unknown_emails_are_counted_and_refused_exactly_alike(
    platform: Platform, member: Member
) -> None:
    unknown = "nobody@example.com"
    await fail_logins(platform, unknown, LIMITS.password_per_account)
    await fail_logins(platform, member.user.email, LIMITS.password_per_account)

    with pytest.raises(RateLimited) as for_unknown:
        await platform.auth.login(unknown, WRONG)
    with pytest.raises(RateLimited) as for_known:
        await platform.auth.login(member.user.email, WRONG)

    assert (for_unknown.value.detail, for_unknown.value.extra) == (
        for_known.value.detail,
        for_known.value.extra,
    )
    assert "exist" not in for_known.value.detail


async def test_the_email_is_counted_whatever_its_case_and_spaces(
    platform: Platform, member: Member
) -> None:
    variants = [member.user.email.upper(), f"  {member.user.email} "]
    for n in range(LIMITS.password_per_account):
        await fail_logins(platform, variants[n % 2], 1)

    with pytest.raises(RateLimited):
        await platform.auth.login(member.user.email, PASSWORD)


async def test_a_success_clears_the_accounts_failures(platform: Platform, member: Member) -> None:
    await fail_logins(platform, member.user.email, LIMITS.password_per_account - 1)
    await platform.auth.login(member.user.email, PASSWORD)

    await fail_logins(platform, member.user.email, LIMITS.password_per_account - 1)

    assert isinstance(await platform.auth.login(member.user.email, PASSWORD), Authenticated)


async def test_accounts_lock_independently(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    await fail_logins(platform, member.user.email, LIMITS.password_per_account)

    outcome = await platform.auth.login(acme.owner.user.email, PASSWORD, client=CLIENT)

    assert isinstance(outcome, Authenticated)


async def test_a_client_spraying_many_accounts_is_limited_by_its_address(
    platform: Platform, member: Member
) -> None:
    emails = [f"guess{n}@example.com" for n in range(LIMITS.per_client)]
    for email in emails:
        await fail_logins(platform, email, 1)

    with pytest.raises(RateLimited):
        await platform.auth.login(member.user.email, PASSWORD, client=CLIENT)
    outcome = await platform.auth.login(member.user.email, PASSWORD, client=OTHER_CLIENT)
    assert isinstance(outcome, Authenticated)


async def test_a_success_does_not_clear_the_clients_failures(
    platform: Platform, member: Member
) -> None:
    for n in range(LIMITS.per_client - 1):
        await fail_logins(platform, f"guess{n}@example.com", 1)
    await platform.auth.login(member.user.email, PASSWORD, client=CLIENT)
    await fail_logins(platform, "one-more@example.com", 1)

    with pytest.raises(RateLimited):
        await platform.auth.login(member.user.email, PASSWORD, client=CLIENT)


async def test_changing_the_email_starts_no_new_count_of_wrong_passwords(
    platform: Platform, member: Member
) -> None:
    """A thief holding an access token guesses the current password, then renames the account."""
    for _ in range(LIMITS.password_per_account):
        with pytest.raises(Unauthenticated):
            await platform.auth.change_password(
                member.principal, current=WRONG, new="a new passphrase", client=CLIENT
            )
    await platform.users.update_profile(
        member.principal, member.user.id, email="renamed@example.com"
    )

    with pytest.raises(RateLimited):
        await platform.auth.change_password(
            member.principal, current=PASSWORD, new="a new passphrase", client=OTHER_CLIENT
        )
    with pytest.raises(RateLimited):
        await platform.auth.login("renamed@example.com", PASSWORD, client=OTHER_CLIENT)


async def test_successes_from_one_address_never_fill_its_budget(
    platform: Platform, member: Member
) -> None:
    """An office behind one address logs in all morning: only failures count for it."""
    for _ in range(LIMITS.per_client + 5):
        await platform.auth.login(member.user.email, PASSWORD, client=CLIENT)

    await fail_logins(platform, "guess@example.com", 1)


@pytest.mark.parametrize("proof", list(Proof))
async def test_of_guesses_sent_together_no_more_than_the_budget_are_verified(
    platform: Platform, proof: Proof
) -> None:
    attempts = Attempts(Yielding(platform.limiter), LIMITS)  # type: ignore[arg-type]
    verified = 0

    async def guess() -> None:
        nonlocal verified
        await attempts.begin(proof, "ann@acme.example", CLIENT)
        await asyncio.sleep(0)  # verifying takes a while: the others arrive meanwhile
        verified += 1

    answers = await asyncio.gather(*(guess() for _ in range(30)), return_exceptions=True)

    limit = LIMITS.password_per_account if proof is Proof.PASSWORD else LIMITS.code_per_account
    assert verified == limit
    assert sum(isinstance(a, RateLimited) for a in answers) == 30 - limit


# Codes


@pytest.fixture
async def enrolled(platform: Platform, member: Member) -> Enrolled:
    return await platform.enrol(member)


async def new_challenge(platform: Platform, enrolled: Enrolled) -> str:
    outcome = await platform.login(enrolled.member)
    assert isinstance(outcome, MfaRequired)
    return outcome.challenge_token


async def test_wrong_codes_lock_the_second_step_until_the_window_passes(
    platform: Platform, enrolled: Enrolled
) -> None:
    challenge = await new_challenge(platform, enrolled)
    for _ in range(LIMITS.code_per_account):
        with pytest.raises(Unauthenticated):
            await platform.auth.verify_challenge(challenge, code="000000", client=CLIENT)

    with pytest.raises(RateLimited):
        await platform.auth.verify_challenge(challenge, code=platform.code(enrolled.secret))
    fresh = await new_challenge(platform, enrolled)  # a new login does not reset codes
    with pytest.raises(RateLimited):
        await platform.auth.verify_challenge(fresh, recovery_code=enrolled.recovery_codes[0])

    platform.clock.advance(LIMITS.window)
    later = await new_challenge(platform, enrolled)
    session = await platform.auth.verify_challenge(later, code=platform.code(enrolled.secret))
    assert session.amr == ("pwd", "otp")


async def test_wrong_recovery_codes_count_as_wrong_codes(
    platform: Platform, enrolled: Enrolled
) -> None:
    challenge = await new_challenge(platform, enrolled)
    for _ in range(LIMITS.code_per_account):
        with pytest.raises(Unauthenticated):
            await platform.auth.verify_challenge(challenge, recovery_code="aaaa-bbbb-cccc-dddd")

    with pytest.raises(RateLimited):
        await platform.auth.verify_challenge(challenge, code=platform.code(enrolled.secret))


async def test_a_replayed_code_counts_as_a_wrong_one(
    platform: Platform, enrolled: Enrolled
) -> None:
    code = platform.code(enrolled.secret)
    await platform.auth.verify_challenge(await new_challenge(platform, enrolled), code=code)
    challenge = await new_challenge(platform, enrolled)
    for _ in range(LIMITS.code_per_account):
        with pytest.raises(Unauthenticated):
            await platform.auth.verify_challenge(challenge, code=code)

    with pytest.raises(RateLimited):
        await platform.auth.verify_challenge(
            challenge, code=platform.code(enrolled.secret, steps=1)
        )


class UnreachableLimiter:
    """A rate limiter whose backend is down."""

    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        raise Unavailable("down")

    async def peek(self, key: str, limit: int, window: timedelta) -> RateDecision:
        raise Unavailable("down")

    async def hit_all(self, hits: Sequence[tuple[str, int, timedelta]]) -> list[RateDecision]:
        raise Unavailable("down")

    async def reset(self, key: str) -> None:
        raise Unavailable("down")

    async def undo(self, key: str) -> None:
        raise Unavailable("down")


async def test_attempts_fail_open_and_are_counted_when_the_limiter_is_down() -> None:
    attempts = Attempts(UnreachableLimiter(), AttemptLimits(password_per_account=1))

    for _ in range(3):
        await attempts.begin(Proof.PASSWORD, "ann@acme.example", "10.0.0.1")
    await attempts.succeeded(Proof.PASSWORD, "ann@acme.example", "10.0.0.1")

    assert attempts.failed_open == 4
