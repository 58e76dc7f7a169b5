"""The seed's flow: password, "MFA required?", challenge, tokens; and enrolment on demand."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from novapulse_core.domain import events
from novapulse_core.domain.auth import (
    Authenticated,
    EnrollmentRequired,
    MfaRequired,
)
from novapulse_core.domain.errors import Forbidden, Invalid, Unauthenticated
from novapulse_core.domain.identity import Role

from .kit import AUDIENCE, ISSUER, JWT_SECRET, POLICY, Enrolled, Member, Platform, Tenant


def claims_of(token: str) -> dict[str, object]:
    return jwt.decode(
        token,
        JWT_SECRET,
        algorithms=["HS256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False},
    )


@pytest.fixture
async def member(platform: Platform, acme: Tenant) -> Member:
    return await platform.add_user(acme, Role.MEMBER)


@pytest.fixture
async def enrolled(platform: Platform, member: Member) -> Enrolled:
    return await platform.enrol(member)


async def challenge_of(platform: Platform, enrolled: Enrolled) -> MfaRequired:
    outcome = await platform.login(enrolled.member)
    assert isinstance(outcome, MfaRequired)
    return outcome


async def test_a_password_login_without_mfa_carries_amr_pwd(
    platform: Platform, member: Member
) -> None:
    session = await platform.session(member)

    assert session.amr == ("pwd",)
    assert claims_of(session.access_token)["amr"] == ["pwd"]
    assert claims_of(session.access_token)["scope"] == "full"


async def test_a_right_password_with_mfa_gives_a_challenge_and_no_token(
    platform: Platform, enrolled: Enrolled
) -> None:
    outcome = await platform.login(enrolled.member)

    assert isinstance(outcome, MfaRequired)
    assert outcome.expires_at == platform.clock.now() + POLICY.challenge_ttl
    assert not hasattr(outcome, "access_token")
    assert outcome.challenge_token not in repr(outcome)


async def test_a_wrong_password_with_mfa_fails_as_without(
    platform: Platform, enrolled: Enrolled
) -> None:
    with pytest.raises(Unauthenticated, match="invalid email or password"):
        await platform.auth.login(enrolled.member.user.email, "not the password")


async def test_a_totp_code_answers_the_challenge_with_amr_pwd_otp(
    platform: Platform, enrolled: Enrolled
) -> None:
    challenge = await challenge_of(platform, enrolled)

    session = await platform.auth.verify_challenge(
        challenge.challenge_token, code=platform.code(enrolled.secret)
    )

    assert session.user.id == enrolled.member.user.id
    assert session.amr == ("pwd", "otp")
    assert claims_of(session.access_token)["amr"] == ["pwd", "otp"]
    principal = await platform.auth.authenticate(session.access_token)
    assert principal == enrolled.member.principal


async def test_a_challenge_is_single_use(platform: Platform, enrolled: Enrolled) -> None:
    challenge = await challenge_of(platform, enrolled)
    await platform.auth.verify_challenge(
        challenge.challenge_token, code=platform.code(enrolled.secret)
    )
    platform.next_step()

    with pytest.raises(Unauthenticated):
        await platform.auth.verify_challenge(
            challenge.challenge_token, code=platform.code(enrolled.secret)
        )


async def test_a_wrong_code_leaves_the_challenge_usable(
    platform: Platform, enrolled: Enrolled
) -> None:
    challenge = await challenge_of(platform, enrolled)
    with pytest.raises(Unauthenticated):
        await platform.auth.verify_challenge(challenge.challenge_token, code="000000")

    session = await platform.auth.verify_challenge(
        challenge.challenge_token, code=platform.code(enrolled.secret)
    )

    assert session.amr == ("pwd", "otp")


async def test_a_challenge_expires(platform: Platform, enrolled: Enrolled) -> None:
    challenge = await challenge_of(platform, enrolled)

    platform.clock.advance(POLICY.challenge_ttl)

    with pytest.raises(Unauthenticated):
        await platform.auth.verify_challenge(
            challenge.challenge_token, code=platform.code(enrolled.secret)
        )


async def test_a_challenge_is_accepted_until_just_before_its_expiry(
    platform: Platform, enrolled: Enrolled
) -> None:
    challenge = await challenge_of(platform, enrolled)

    platform.clock.advance(POLICY.challenge_ttl - timedelta(seconds=1))

    await platform.auth.verify_challenge(
        challenge.challenge_token, code=platform.code(enrolled.secret)
    )


@pytest.mark.parametrize("token", ["", "made-up", "x" * 43])
async def test_an_unknown_challenge_token_is_refused(
    platform: Platform, enrolled: Enrolled, token: str
) -> None:
    with pytest.raises(Unauthenticated):
        await platform.auth.verify_challenge(token, code=platform.code(enrolled.secret))


async def test_a_code_is_accepted_at_most_once(platform: Platform, enrolled: Enrolled) -> None:
    code = platform.code(enrolled.secret)
    first = await challenge_of(platform, enrolled)
    await platform.auth.verify_challenge(first.challenge_token, code=code)
    second = await challenge_of(platform, enrolled)

    with pytest.raises(Unauthenticated):
        await platform.auth.verify_challenge(second.challenge_token, code=code)
    platform.clock.advance(timedelta(seconds=30))  # the same code, still within drift
    with pytest.raises(Unauthenticated):
        await platform.auth.verify_challenge(second.challenge_token, code=code)


async def test_the_next_steps_code_is_accepted_after_this_steps_was_spent(
    platform: Platform, enrolled: Enrolled
) -> None:
    spent = await challenge_of(platform, enrolled)
    await platform.auth.verify_challenge(spent.challenge_token, code=platform.code(enrolled.secret))
    challenge = await challenge_of(platform, enrolled)

    await platform.auth.verify_challenge(
        challenge.challenge_token, code=platform.code(enrolled.secret, steps=1)
    )


async def test_a_recovery_code_answers_the_challenge_once(
    platform: Platform, enrolled: Enrolled
) -> None:
    code = enrolled.recovery_codes[0]
    first = await challenge_of(platform, enrolled)

    session = await platform.auth.verify_challenge(first.challenge_token, recovery_code=code)

    assert session.amr == ("pwd", "otp")
    second = await challenge_of(platform, enrolled)
    with pytest.raises(Unauthenticated):
        await platform.auth.verify_challenge(second.challenge_token, recovery_code=code)
    used = platform.events_of(events.MFA_RECOVERY_CODE_USED)
    assert [e.data for e in used] == [
        {"user_id": enrolled.member.user.id, "recovery_codes_left": 9}
    ]


async def test_a_recovery_code_is_read_whatever_its_case_and_dashes(
    platform: Platform, enrolled: Enrolled
) -> None:
    typed = enrolled.recovery_codes[1].replace("-", " ").upper()
    challenge = await challenge_of(platform, enrolled)

    await platform.auth.verify_challenge(challenge.challenge_token, recovery_code=typed)


async def test_another_users_recovery_code_does_not_answer(
    platform: Platform, acme: Tenant, enrolled: Enrolled
) -> None:
    other = await platform.enrol(await platform.add_user(acme))
    challenge = await challenge_of(platform, enrolled)

    with pytest.raises(Unauthenticated):
        await platform.auth.verify_challenge(
            challenge.challenge_token, recovery_code=other.recovery_codes[0]
        )


@pytest.mark.parametrize("answer", [{}, {"code": "123456", "recovery_code": "abcd"}])
async def test_a_challenge_wants_exactly_one_answer(
    platform: Platform, enrolled: Enrolled, answer: dict[str, str]
) -> None:
    challenge = await challenge_of(platform, enrolled)

    with pytest.raises(Invalid):
        await platform.auth.verify_challenge(challenge.challenge_token, **answer)


async def test_a_user_deactivated_after_the_password_cannot_finish_the_challenge(
    platform: Platform, acme: Tenant, enrolled: Enrolled
) -> None:
    challenge = await challenge_of(platform, enrolled)
    await platform.users.deactivate(acme.owner.principal, enrolled.member.user.id)

    with pytest.raises(Unauthenticated):
        await platform.auth.verify_challenge(
            challenge.challenge_token, code=platform.code(enrolled.secret)
        )


async def test_a_user_whose_mfa_was_disabled_logs_in_with_the_password_alone(
    platform: Platform, enrolled: Enrolled
) -> None:
    await platform.mfa.disable(
        enrolled.member.principal,
        password=enrolled.member.password,
        code=platform.code(enrolled.secret),
    )

    assert isinstance(await platform.login(enrolled.member), Authenticated)


# A company can require MFA of chosen roles.


async def test_a_role_that_requires_mfa_is_sent_to_enrol_with_a_restricted_token(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    await platform.companies.require_mfa_for(acme.owner.principal, [Role.MEMBER])

    outcome = await platform.login(member)

    assert isinstance(outcome, EnrollmentRequired)
    assert outcome.expires_at == platform.clock.now() + POLICY.enrollment_token_ttl
    claims = claims_of(outcome.enrollment_token)
    assert claims["scope"] == "mfa_enroll"
    assert claims["amr"] == ["pwd"]
    with pytest.raises(Forbidden):
        await platform.auth.authenticate(outcome.enrollment_token)
    principal = await platform.auth.authenticate_for_enrollment(outcome.enrollment_token)
    assert principal == member.principal


async def test_roles_that_are_not_required_log_in_as_before(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    await platform.companies.require_mfa_for(acme.owner.principal, [Role.OWNER, Role.ADMIN])

    assert isinstance(await platform.login(member), Authenticated)
    assert isinstance(await platform.login(acme.owner), EnrollmentRequired)


async def test_the_enrollment_token_trades_for_a_full_session_once(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    await platform.companies.require_mfa_for(acme.owner.principal, [Role.MEMBER])
    outcome = await platform.login(member)
    assert isinstance(outcome, EnrollmentRequired)
    principal = await platform.auth.authenticate_for_enrollment(outcome.enrollment_token)
    setup = await platform.mfa.start_enrollment(principal)

    done = await platform.auth.confirm_enrollment(
        outcome.enrollment_token, platform.code(setup.secret)
    )

    assert len(done.recovery_codes) == 10
    assert done.session is not None
    assert done.session.amr == ("pwd", "otp")
    assert await platform.auth.authenticate(done.session.access_token) == member.principal
    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate_for_enrollment(outcome.enrollment_token)
    platform.next_step()
    assert isinstance(await platform.login(member), MfaRequired)


async def test_confirming_with_a_full_token_keeps_the_session_it_has(
    platform: Platform, member: Member
) -> None:
    session = await platform.session(member)
    setup = await platform.mfa.start_enrollment(member.principal)

    done = await platform.auth.confirm_enrollment(session.access_token, platform.code(setup.secret))

    assert len(done.recovery_codes) == 10
    assert done.session is None
    assert await platform.auth.authenticate(session.access_token) == member.principal
    assert (await platform.mfa.status(member.principal)).enabled


async def test_a_user_with_mfa_under_a_requirement_gets_the_challenge(
    platform: Platform, acme: Tenant, enrolled: Enrolled
) -> None:
    await platform.companies.require_mfa_for(acme.owner.principal, [Role.MEMBER])

    assert isinstance(await platform.login(enrolled.member), MfaRequired)


async def test_only_admins_set_the_requirement_and_it_is_announced(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    with pytest.raises(Forbidden):
        await platform.companies.require_mfa_for(member.principal, [Role.MEMBER])

    company = await platform.companies.require_mfa_for(
        acme.owner.principal, [Role.ADMIN, Role.OWNER]
    )

    assert company.mfa_required_roles == {Role.ADMIN, Role.OWNER}
    assert company.version == acme.company.version + 1
    assert platform.events_of(events.COMPANY_UPDATED)[-1].data["mfa_required_roles"] == [
        "admin",
        "owner",
    ]


@pytest.mark.parametrize(
    "change",
    [{"amr": None}, {"scope": None}, {"scope": "admin"}, {"amr": "pwd"}, {"amr": [1]}],
    ids=["no amr", "no scope", "unknown scope", "amr not a list", "amr not strings"],
)
async def test_a_token_without_a_readable_amr_and_scope_is_refused(
    platform: Platform, member: Member, change: dict[str, object]
) -> None:
    """Fail closed: a signed token that does not say how and for what it was issued."""
    claims = claims_of((await platform.session(member)).access_token)
    for name, value in change.items():
        if value is None:
            del claims[name]
        else:
            claims[name] = value
    resigned = jwt.encode(claims, JWT_SECRET, algorithm="HS256")

    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(resigned)
