"""TOTP setup, recovery codes and disabling MFA, on a frozen clock."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from novapulse_core.domain import events
from novapulse_core.domain.auth import EnrollmentRequired
from novapulse_core.domain.errors import Conflict, Invalid, RateLimited, Unauthenticated
from novapulse_core.domain.identity import Role
from novapulse_core.domain.mfa import MfaStatus
from novapulse_core.services import MfaService

from .kit import (
    CLIENT,
    LIMITS,
    MFA_ISSUER,
    PASSWORD,
    RECOVERY_CODE_KEY,
    Enrolled,
    Member,
    Platform,
    Tenant,
)


@pytest.fixture
async def member(platform: Platform, acme: Tenant) -> Member:
    return await platform.add_user(acme, Role.MEMBER)


@pytest.fixture
async def enrolled(platform: Platform, member: Member) -> Enrolled:
    return await platform.enrol(member)


async def test_setup_gives_a_secret_and_an_otpauth_uri_for_the_email(
    platform: Platform, member: Member
) -> None:
    setup = await platform.mfa.start_enrollment(member.principal)

    parts = urlsplit(setup.uri)
    assert parts.scheme == "otpauth"
    assert unquote(parts.path) == f"/{MFA_ISSUER}:{member.user.email}"
    assert parse_qs(parts.query)["secret"] == [setup.secret]
    assert (setup.account, setup.issuer) == (member.user.email, MFA_ISSUER)


async def test_the_secret_is_stored_encrypted_only(platform: Platform, member: Member) -> None:
    setup = await platform.mfa.start_enrollment(member.principal)

    record = await platform.mfa_store.get(member.user.company_id, member.user.id)

    assert record is not None
    assert setup.secret not in record.encrypted_secret
    assert setup.secret not in repr(record)


async def test_mfa_is_pending_and_off_until_a_valid_code_confirms_it(
    platform: Platform, member: Member
) -> None:
    setup = await platform.mfa.start_enrollment(member.principal)
    assert await platform.mfa.status(member.principal) == MfaStatus(
        enabled=False, pending=True, enabled_at=None, recovery_codes_left=0
    )

    with pytest.raises(Invalid):
        await platform.mfa.confirm_enrollment(member.principal, "000000")
    assert not (await platform.mfa.status(member.principal)).enabled

    codes = await platform.mfa.confirm_enrollment(member.principal, platform.code(setup.secret))

    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert await platform.mfa.status(member.principal) == MfaStatus(
        enabled=True, pending=False, enabled_at=platform.clock.now(), recovery_codes_left=10
    )
    assert [e.data for e in platform.events_of(events.MFA_ENABLED)] == [{"user_id": member.user.id}]


async def test_recovery_codes_are_stored_as_digests_only(
    platform: Platform, enrolled: Enrolled
) -> None:
    record = await platform.mfa_store.get(enrolled.member.user.company_id, enrolled.member.user.id)

    assert record is not None
    stored = " ".join(code.digest for code in record.recovery_codes)
    for code in enrolled.recovery_codes:
        assert code not in stored
        assert code.replace("-", "") not in stored


async def test_restarting_a_pending_setup_replaces_the_secret(
    platform: Platform, member: Member
) -> None:
    first = await platform.mfa.start_enrollment(member.principal)
    second = await platform.mfa.start_enrollment(member.principal)

    assert first.secret != second.secret
    with pytest.raises(Invalid):
        await platform.mfa.confirm_enrollment(member.principal, platform.code(first.secret))
    await platform.mfa.confirm_enrollment(member.principal, platform.code(second.secret))


# Starting setup through a bearer token: a stolen full-access token alone cannot bind an
# authenticator of the thief's to the account.


async def test_starting_mfa_setup_with_a_full_session_needs_the_current_password(
    platform: Platform, member: Member
) -> None:
    session = await platform.session(member)

    with pytest.raises(Invalid) as missing:
        await platform.auth.start_enrollment(session.access_token)
    assert missing.value.extra["field"] == "password"
    assert not (await platform.mfa.status(member.principal)).pending

    setup = await platform.auth.start_enrollment(session.access_token, password=PASSWORD)

    assert (await platform.mfa.status(member.principal)).pending
    done = await platform.auth.confirm_enrollment(session.access_token, platform.code(setup.secret))
    assert len(done.recovery_codes) == 10


async def test_a_wrong_password_does_not_start_mfa_setup_and_counts_as_a_failed_attempt(
    platform: Platform, member: Member
) -> None:
    session = await platform.session(member)

    with pytest.raises(Unauthenticated):
        await platform.auth.start_enrollment(
            session.access_token, password="not the password", client=CLIENT
        )

    assert await platform.mfa_store.get(member.user.company_id, member.user.id) is None
    for _ in range(LIMITS.password_per_account - 1):
        with pytest.raises(Unauthenticated):
            await platform.auth.login(member.user.email, "not the password", client=CLIENT)
    with pytest.raises(RateLimited):
        await platform.auth.start_enrollment(session.access_token, password=PASSWORD)
    with pytest.raises(RateLimited):
        await platform.login(member)


async def test_an_enrol_only_token_starts_mfa_setup_without_the_password_again(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    await platform.companies.require_mfa_for(acme.owner.principal, [Role.MEMBER])
    outcome = await platform.login(member)
    assert isinstance(outcome, EnrollmentRequired)

    setup = await platform.auth.start_enrollment(outcome.enrollment_token)

    assert (await platform.mfa.status(member.principal)).pending
    done = await platform.auth.confirm_enrollment(
        outcome.enrollment_token, platform.code(setup.secret)
    )
    assert done.session is not None


async def test_setup_cannot_start_again_once_enabled(
    platform: Platform, enrolled: Enrolled
) -> None:
    with pytest.raises(Conflict):
        await platform.mfa.start_enrollment(enrolled.member.principal)
    with pytest.raises(Conflict):
        await platform.mfa.confirm_enrollment(
            enrolled.member.principal, platform.code(enrolled.secret)
        )


async def test_confirming_without_a_setup_is_a_conflict(platform: Platform, member: Member) -> None:
    with pytest.raises(Conflict):
        await platform.mfa.confirm_enrollment(member.principal, "123456")


async def test_a_user_without_mfa_has_a_plain_status(platform: Platform, member: Member) -> None:
    assert await platform.mfa.status(member.principal) == MfaStatus(
        enabled=False, pending=False, enabled_at=None, recovery_codes_left=0
    )


@pytest.mark.parametrize("steps", [-1, 0, 1])
async def test_a_code_one_step_of_drift_either_side_is_accepted(
    platform: Platform, member: Member, steps: int
) -> None:
    setup = await platform.mfa.start_enrollment(member.principal)

    await platform.mfa.confirm_enrollment(
        member.principal, platform.code(setup.secret, steps=steps)
    )

    assert (await platform.mfa.status(member.principal)).enabled


@pytest.mark.parametrize("steps", [-2, 2])
async def test_a_code_two_steps_off_is_refused(
    platform: Platform, member: Member, steps: int
) -> None:
    setup = await platform.mfa.start_enrollment(member.principal)

    with pytest.raises(Invalid):
        await platform.mfa.confirm_enrollment(
            member.principal, platform.code(setup.secret, steps=steps)
        )


async def test_a_code_with_spaces_is_read_as_the_digits(platform: Platform, member: Member) -> None:
    setup = await platform.mfa.start_enrollment(member.principal)
    code = platform.code(setup.secret)

    await platform.mfa.confirm_enrollment(member.principal, f" {code[:3]} {code[3:]} ")

    assert (await platform.mfa.status(member.principal)).enabled


async def test_the_confirming_code_cannot_be_spent_again(
    platform: Platform, member: Member
) -> None:
    setup = await platform.mfa.start_enrollment(member.principal)
    code = platform.code(setup.secret)
    await platform.mfa.confirm_enrollment(member.principal, code)

    with pytest.raises(Invalid):
        await platform.mfa.regenerate_recovery_codes(member.principal, code)


async def test_regenerating_recovery_codes_needs_a_code_and_retires_the_old_ones(
    platform: Platform, enrolled: Enrolled
) -> None:
    principal = enrolled.member.principal
    with pytest.raises(Invalid):
        await platform.mfa.regenerate_recovery_codes(principal, "000000")

    fresh = await platform.mfa.regenerate_recovery_codes(principal, platform.code(enrolled.secret))

    assert set(fresh).isdisjoint(enrolled.recovery_codes)
    assert (await platform.mfa.status(principal)).recovery_codes_left == 10
    user = enrolled.member.user
    assert not await _recovery_code_works(platform, enrolled, enrolled.recovery_codes[0])
    assert await _recovery_code_works(platform, enrolled, fresh[0])
    assert [e.data for e in platform.events_of(events.MFA_RECOVERY_CODES_REGENERATED)] == [
        {"user_id": user.id}
    ]


async def test_disabling_needs_the_password_and_a_current_code(
    platform: Platform, enrolled: Enrolled
) -> None:
    principal = enrolled.member.principal
    with pytest.raises(Invalid) as wrong_password:
        await platform.mfa.disable(
            principal, password="not the password", code=platform.code(enrolled.secret)
        )
    with pytest.raises(Invalid) as wrong_code:
        await platform.mfa.disable(principal, password=PASSWORD, code="000000")
    assert wrong_password.value.extra["field"] == "password"
    assert wrong_code.value.extra["field"] == "code"
    assert (await platform.mfa.status(principal)).enabled

    await platform.mfa.disable(principal, password=PASSWORD, code=platform.code(enrolled.secret))

    assert not (await platform.mfa.status(principal)).enabled
    assert await platform.mfa_store.get(principal.company_id, principal.user_id) is None
    assert [e.data for e in platform.events_of(events.MFA_DISABLED)] == [
        {"user_id": principal.user_id}
    ]


async def test_disabling_mfa_that_is_off_is_a_conflict(platform: Platform, member: Member) -> None:
    with pytest.raises(Conflict):
        await platform.mfa.disable(member.principal, password=PASSWORD, code="123456")


async def test_mfa_can_be_set_up_again_after_disabling(
    platform: Platform, enrolled: Enrolled
) -> None:
    principal = enrolled.member.principal
    await platform.mfa.disable(principal, password=PASSWORD, code=platform.code(enrolled.secret))
    platform.next_step()

    again = await platform.enrol(enrolled.member)

    assert again.secret != enrolled.secret
    assert (await platform.mfa.status(principal)).enabled


async def test_wrong_passwords_while_disabling_are_limited(
    platform: Platform, enrolled: Enrolled
) -> None:
    principal = enrolled.member.principal
    for _ in range(LIMITS.password_per_account):
        with pytest.raises(Invalid):
            await platform.mfa.disable(principal, password="guess", code="000000")

    with pytest.raises(RateLimited):
        await platform.mfa.disable(
            principal, password=PASSWORD, code=platform.code(enrolled.secret)
        )
    platform.clock.advance(LIMITS.window)
    await platform.mfa.disable(principal, password=PASSWORD, code=platform.code(enrolled.secret))


async def test_wrong_codes_while_regenerating_are_limited(
    platform: Platform, enrolled: Enrolled
) -> None:
    principal = enrolled.member.principal
    for _ in range(LIMITS.code_per_account):
        with pytest.raises(Invalid):
            await platform.mfa.regenerate_recovery_codes(principal, "000000")

    with pytest.raises(RateLimited) as limited:
        await platform.mfa.regenerate_recovery_codes(principal, platform.code(enrolled.secret))

    assert 0 < limited.value.retry_after <= LIMITS.window.total_seconds()
    platform.clock.advance(LIMITS.window - timedelta(seconds=1))
    with pytest.raises(RateLimited):
        await platform.mfa.regenerate_recovery_codes(principal, platform.code(enrolled.secret))
    platform.clock.advance(timedelta(seconds=1))
    await platform.mfa.regenerate_recovery_codes(principal, platform.code(enrolled.secret))


async def _recovery_code_works(platform: Platform, enrolled: Enrolled, code: str) -> bool:
    try:
        await platform.mfa.verify_login(enrolled.member.user, recovery_code=code)
    except Unauthenticated:
        return False
    return True


async def test_recovery_codes_survive_a_rotation_of_their_key(
    platform: Platform, enrolled: Enrolled
) -> None:
    rotated = MfaService(
        platform.mfa_store,
        platform.user_store,
        platform.totp,
        platform.box,
        platform.replays,
        platform.limiter,
        platform.hasher,
        platform.clock,
        platform.announcer,
        recovery_code_key=b"a-brand-new-recovery-code-key-0123456789",
        previous_recovery_code_keys=[RECOVERY_CODE_KEY],
    )
    user = enrolled.member.user

    await rotated.verify_login(user, recovery_code=enrolled.recovery_codes[0])

    fresh = await rotated.regenerate_recovery_codes(
        enrolled.member.principal, platform.code(enrolled.secret)
    )
    await rotated.verify_login(user, recovery_code=fresh[0])
    with pytest.raises(Unauthenticated):  # the old service lacks the new key
        await platform.mfa.verify_login(user, recovery_code=fresh[1])
