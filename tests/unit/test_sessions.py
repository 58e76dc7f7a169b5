"""Refresh-token rotation, reuse detection, logout and revoked access tokens."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from novapulse_adapters.memory.sessions import InMemoryTokenRevocations
from novapulse_core.domain import events
from novapulse_core.domain.auth import Authenticated
from novapulse_core.domain.errors import Unauthenticated, Unavailable
from novapulse_core.domain.identity import Role
from novapulse_core.domain.sessions import RefreshToken

from .kit import (
    AUDIENCE,
    ISSUER,
    JWT_SECRET,
    LEEWAY,
    PASSWORD,
    POLICY,
    TOKEN_TTL,
    Member,
    Platform,
    Tenant,
)


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


async def test_a_login_hands_out_an_opaque_refresh_token(
    platform: Platform, member: Member
) -> None:
    session = await platform.session(member)

    assert len(session.refresh_token) >= 43
    assert session.refresh_token.count(".") == 0
    assert session.refresh_expires_at == platform.clock.now() + POLICY.refresh_token_ttl
    assert session.expires_at == platform.clock.now() + TOKEN_TTL


async def test_refreshing_rotates_both_tokens_within_the_session(
    platform: Platform, member: Member
) -> None:
    session = await platform.session(member)
    platform.clock.advance(TOKEN_TTL)

    renewed = await platform.auth.refresh(session.refresh_token)

    assert renewed.refresh_token != session.refresh_token
    assert renewed.access_token != session.access_token
    assert renewed.amr == session.amr
    assert claims_of(renewed.access_token)["sid"] == claims_of(session.access_token)["sid"]
    assert claims_of(renewed.access_token)["jti"] != claims_of(session.access_token)["jti"]
    assert await platform.auth.authenticate(renewed.access_token) == member.principal


async def test_rotated_tokens_keep_rotating(platform: Platform, member: Member) -> None:
    token = (await platform.session(member)).refresh_token
    for _ in range(5):
        platform.clock.advance(timedelta(hours=1))
        token = (await platform.auth.refresh(token)).refresh_token

    assert (await platform.auth.refresh(token)).user.id == member.user.id


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(
    platform: Platform, member: Member
) -> None:
    session = await platform.session(member)
    other_session = await platform.session(member)
    renewed = await platform.auth.refresh(session.refresh_token)

    with pytest.raises(Unauthenticated):
        await platform.auth.refresh(session.refresh_token)

    with pytest.raises(Unauthenticated):
        await platform.auth.refresh(renewed.refresh_token)
    assert (await platform.auth.refresh(other_session.refresh_token)).user.id == member.user.id
    reused = platform.events_of(events.SESSION_REFRESH_REUSED)
    assert [e.data for e in reused] == [
        {"user_id": member.user.id, "session_id": claims_of(session.access_token)["sid"]}
    ]


async def test_a_reuse_landing_in_the_middle_of_a_rotation_leaves_the_family_dead(
    platform: Platform, member: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await platform.session(member)
    store, successors = platform.refresh_tokens, []
    add = store.add

    async def thief_reuses_then_add(token: RefreshToken) -> None:
        monkeypatch.setattr(store, "add", add)
        with pytest.raises(Unauthenticated):
            await platform.auth.refresh(session.refresh_token)  # the stolen copy, right now
        successors.append(token)
        await add(token)

    monkeypatch.setattr(store, "add", thief_reuses_then_add)

    with pytest.raises(Unauthenticated):
        await platform.auth.refresh(session.refresh_token)

    assert [await store.use(t.token_digest, platform.clock.now()) for t in successors] == [None]


async def test_a_refresh_token_expires_unused(platform: Platform, member: Member) -> None:
    session = await platform.session(member)

    platform.clock.advance(POLICY.refresh_token_ttl)

    with pytest.raises(Unauthenticated):
        await platform.auth.refresh(session.refresh_token)


async def test_a_session_ends_at_its_maximum_age_however_often_it_rotates(
    platform: Platform, member: Member
) -> None:
    token = (await platform.session(member)).refresh_token
    step = timedelta(days=7)
    for _ in range(4):  # 28 days in
        platform.clock.advance(step)
        renewed = await platform.auth.refresh(token)
        token = renewed.refresh_token

    assert renewed.refresh_expires_at == platform.clock.now() + timedelta(days=2)
    platform.clock.advance(timedelta(days=2))
    with pytest.raises(Unauthenticated):
        await platform.auth.refresh(token)


@pytest.mark.parametrize("token", ["", "made-up", "a.b.c"])
async def test_an_unknown_refresh_token_is_refused(platform: Platform, token: str) -> None:
    with pytest.raises(Unauthenticated):
        await platform.auth.refresh(token)


async def test_a_deactivated_user_cannot_refresh_even_after_reactivation(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    session = await platform.session(member)
    await platform.users.deactivate(acme.owner.principal, member.user.id)

    with pytest.raises(Unauthenticated):
        await platform.auth.refresh(session.refresh_token)
    await platform.users.reactivate(acme.owner.principal, member.user.id)
    with pytest.raises(Unauthenticated):
        await platform.auth.refresh(session.refresh_token)


async def test_a_session_not_refreshed_while_deactivated_stays_ended_after_reactivation(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    session = await platform.session(member)
    platform.clock.advance(timedelta(seconds=1))
    await platform.users.deactivate(acme.owner.principal, member.user.id)
    await platform.users.reactivate(acme.owner.principal, member.user.id)

    with pytest.raises(Unauthenticated):
        await platform.auth.refresh(session.refresh_token)


async def test_a_refreshed_access_token_carries_the_current_role(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    session = await platform.session(member)
    await platform.users.change_role(acme.owner.principal, member.user.id, Role.MANAGER)

    renewed = await platform.auth.refresh(session.refresh_token)

    assert claims_of(renewed.access_token)["role"] == "manager"


async def test_logout_revokes_the_access_token_and_its_session(
    platform: Platform, member: Member
) -> None:
    session = await platform.session(member)
    other = await platform.session(member)

    await platform.auth.logout(session.access_token)

    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(session.access_token)
    with pytest.raises(Unauthenticated):
        await platform.auth.refresh(session.refresh_token)
    assert await platform.auth.authenticate(other.access_token) == member.principal
    assert (await platform.auth.refresh(other.refresh_token)).user.id == member.user.id


async def test_logout_after_rotation_ends_the_rotated_session(
    platform: Platform, member: Member
) -> None:
    session = await platform.session(member)
    renewed = await platform.auth.refresh(session.refresh_token)

    await platform.auth.logout(session.access_token)

    with pytest.raises(Unauthenticated):
        await platform.auth.refresh(renewed.refresh_token)


async def test_logout_everywhere_ends_every_session_of_the_user_only(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    sessions = [await platform.session(member) for _ in range(3)]
    bystander = await platform.session(acme.owner)

    await platform.auth.logout(sessions[0].access_token, everywhere=True)

    for session in sessions:
        with pytest.raises(Unauthenticated):
            await platform.auth.refresh(session.refresh_token)
    assert (await platform.auth.refresh(bystander.refresh_token)).user.id == acme.owner.user.id


async def test_logout_with_another_users_refresh_token_leaves_that_session_alone(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    mine = await platform.session(member)
    theirs = await platform.session(acme.owner)

    await platform.auth.logout(mine.access_token, refresh_token=theirs.refresh_token)

    with pytest.raises(Unauthenticated):
        await platform.auth.refresh(mine.refresh_token)
    with pytest.raises(Unauthenticated):  # spent by the logout: a reuse now, so revoked
        await platform.auth.refresh(theirs.refresh_token)


async def test_a_revoked_token_stays_revoked_through_the_leeway_then_is_forgotten(
    platform: Platform, member: Member
) -> None:
    session = await platform.session(member)
    await platform.auth.logout(session.access_token)

    jti = str(claims_of(session.access_token)["jti"])

    platform.clock.advance(TOKEN_TTL + LEEWAY - timedelta(seconds=1))  # verifies, but revoked
    assert platform.tokens.verify(session.access_token).token_id == jti
    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(session.access_token)

    platform.clock.advance(POLICY.revocation_margin - LEEWAY + timedelta(seconds=1))
    assert not await platform.revocations.is_revoked(jti)
    with pytest.raises(Unauthenticated):  # expired anyway
        await platform.auth.authenticate(session.access_token)


async def test_a_logged_out_token_cannot_log_out_again(platform: Platform, member: Member) -> None:
    session = await platform.session(member)
    await platform.auth.logout(session.access_token)

    with pytest.raises(Unauthenticated):
        await platform.auth.logout(session.access_token)


class UnreadableRevocations(InMemoryTokenRevocations):
    """A revocation list whose backend went away."""

    async def is_revoked(self, token_id: str) -> bool:
        raise Unavailable("down")


async def test_a_signed_token_is_accepted_and_counted_while_revocations_cannot_be_read(
    platform: Platform, member: Member
) -> None:
    session = await platform.auth.login(member.user.email, PASSWORD)
    assert isinstance(session, Authenticated)
    auth = platform.auth_with(platform.hasher, revocations=UnreadableRevocations(platform.clock))

    principal = await auth.authenticate(session.access_token)

    assert principal.user_id == member.user.id
    assert auth.revocation_checks_skipped == 1


async def test_claims_verified_elsewhere_are_still_refused_once_revoked_or_deactivated(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    session = await platform.session(member)
    claims = platform.tokens.verify(session.access_token)
    assert await platform.auth.authenticate_verified(claims) == member.principal

    await platform.auth.logout(session.access_token)
    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate_verified(claims)

    again = platform.tokens.verify((await platform.session(member)).access_token)
    await platform.users.deactivate(acme.owner.principal, member.user.id)
    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate_verified(again)
