"""Password login, the access token it issues, and turning a token back into a principal."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import timedelta

import jwt
import pytest

from novapulse_adapters.crypto import JwtTokenIssuer
from novapulse_adapters.memory import InMemoryUserStore
from novapulse_core.domain.auth import AccessClaims, Authenticated
from novapulse_core.domain.errors import Unauthenticated, Unavailable
from novapulse_core.domain.identity import Role, User

from .kit import (
    AUDIENCE,
    ISSUER,
    JWT_SECRET,
    LEEWAY,
    PASSWORD,
    TOKEN_TTL,
    Member,
    Platform,
    Tenant,
    fast_hasher,
)

BAD_CREDENTIALS = "invalid email or password"


def decode(token: str) -> dict[str, object]:
    """PyJWT's own reading of a token; expiry is judged by the tests against the frozen clock."""
    return jwt.decode(
        token,
        JWT_SECRET,
        algorithms=["HS256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False},
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _payload_of(token: str) -> dict[str, object]:
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


@pytest.fixture
async def member(platform: Platform, acme: Tenant) -> Member:
    return await platform.add_user(acme, Role.MEMBER)


async def test_login_issues_a_jwt_whose_claims_name_the_user_its_company_and_role(
    platform: Platform, member: Member
) -> None:
    outcome = await platform.auth.login(member.user.email, PASSWORD)

    claims = decode(outcome.access_token)
    now = int(platform.clock.now().timestamp())
    assert jwt.get_unverified_header(outcome.access_token)["alg"] == "HS256"
    assert claims["sub"] == member.user.id
    assert claims["company"] == member.user.company_id
    assert claims["role"] == "member"
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["iat"] == now
    assert claims["exp"] == now + int(TOKEN_TTL.total_seconds())
    assert isinstance(claims["jti"], str)
    assert claims["jti"]
    assert outcome.user == member.user
    assert outcome.expires_at == platform.clock.now() + TOKEN_TTL


async def test_every_login_gets_a_token_id_of_its_own(platform: Platform, member: Member) -> None:
    first = await platform.auth.login(member.user.email, PASSWORD)
    second = await platform.auth.login(member.user.email, PASSWORD)

    assert decode(first.access_token)["jti"] != decode(second.access_token)["jti"]


async def test_login_ignores_the_case_and_surrounding_spaces_of_the_email(
    platform: Platform, member: Member
) -> None:
    outcome = await platform.auth.login(f"  {member.user.email.upper()} ", PASSWORD)

    assert outcome.user.id == member.user.id


async def test_a_token_from_login_authenticates_as_its_user(
    platform: Platform, member: Member
) -> None:
    outcome = await platform.auth.login(member.user.email, PASSWORD)

    principal = await platform.auth.authenticate(outcome.access_token)

    assert principal == member.principal


@pytest.mark.parametrize(
    "case", ["wrong password", "unknown email", "deactivated user", "malformed email", "huge"]
)
async def test_failed_logins_all_say_the_same_thing(
    platform: Platform, acme: Tenant, member: Member, case: str
) -> None:
    await platform.users.deactivate(acme.owner.principal, member.user.id)
    owner = acme.owner.user.email
    email, password = {
        "wrong password": (owner, "not the password"),
        "unknown email": ("nobody@example.com", PASSWORD),
        "deactivated user": (member.user.email, PASSWORD),
        "malformed email": ("no-at-sign", PASSWORD),
        "huge": (owner, PASSWORD + "x" * 1024),
    }[case]

    with pytest.raises(Unauthenticated) as failure:
        await platform.auth.login(email, password)

    assert failure.value.detail == BAD_CREDENTIALS
    assert str(failure.value) == BAD_CREDENTIALS


async def test_a_reactivated_user_logs_in_again(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    await platform.users.deactivate(acme.owner.principal, member.user.id)
    await platform.users.reactivate(acme.owner.principal, member.user.id)

    outcome = await platform.auth.login(member.user.email, PASSWORD)

    assert outcome.user.id == member.user.id


async def test_a_token_is_accepted_until_its_ttl_and_leeway_have_passed(
    platform: Platform, member: Member
) -> None:
    token = (await platform.auth.login(member.user.email, PASSWORD)).access_token

    platform.clock.advance(TOKEN_TTL + LEEWAY - timedelta(seconds=1))
    assert (await platform.auth.authenticate(token)).user_id == member.user.id

    platform.clock.advance(timedelta(seconds=1))
    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(token)


async def test_a_token_whose_payload_was_changed_is_rejected(
    platform: Platform, member: Member
) -> None:
    token = (await platform.auth.login(member.user.email, PASSWORD)).access_token
    header, _, signature = token.split(".")
    payload = _payload_of(token) | {"role": "owner"}
    forged = ".".join([header, _b64(json.dumps(payload).encode()), signature])

    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(forged)


async def test_a_token_with_a_damaged_signature_is_rejected(
    platform: Platform, member: Member
) -> None:
    token = (await platform.auth.login(member.user.email, PASSWORD)).access_token
    head, payload, signature = token.split(".")
    damaged = ("A" if signature[0] != "A" else "B") + signature[1:]

    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(f"{head}.{payload}.{damaged}")


async def test_an_unsigned_token_with_alg_none_is_rejected(
    platform: Platform, member: Member
) -> None:
    token = (await platform.auth.login(member.user.email, PASSWORD)).access_token
    unsigned = jwt.encode(_payload_of(token), None, algorithm="none")

    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(unsigned)


@pytest.mark.parametrize(
    "signing",
    [
        {"key": "another-secret-that-is-also-32-bytes-long!", "algorithm": "HS256"},
        {"key": JWT_SECRET, "algorithm": "HS512"},
    ],
    ids=["another key", "another algorithm"],
)
async def test_a_token_signed_with_another_key_or_algorithm_is_rejected(
    platform: Platform, member: Member, signing: dict[str, str]
) -> None:
    token = (await platform.auth.login(member.user.email, PASSWORD)).access_token
    resigned = jwt.encode(_payload_of(token), signing["key"], algorithm=signing["algorithm"])

    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(resigned)


@pytest.mark.parametrize(
    ("issuer", "audience"), [("someone-else", AUDIENCE), (ISSUER, "another-api")]
)
async def test_a_token_for_another_issuer_or_audience_is_rejected(
    platform: Platform, member: Member, issuer: str, audience: str
) -> None:
    foreign = JwtTokenIssuer(
        secret=JWT_SECRET, clock=platform.clock, issuer=issuer, audience=audience
    )
    now = platform.clock.now()
    token = foreign.issue(
        AccessClaims(
            subject=member.user.id,
            company_id=member.user.company_id,
            role=member.user.role,
            token_id="t1",
            issued_at=now,
            expires_at=now + TOKEN_TTL,
        )
    )

    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(token)


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c", "Bearer x.y.z"])
async def test_a_malformed_token_is_rejected(platform: Platform, garbage: str) -> None:
    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(garbage)


async def test_a_validly_signed_token_of_an_unknown_user_is_rejected(
    platform: Platform, acme: Tenant
) -> None:
    now = platform.clock.now()
    token = platform.tokens.issue(
        AccessClaims(
            subject="ghost",
            company_id=acme.company.id,
            role=Role.OWNER,
            token_id="t1",
            issued_at=now,
            expires_at=now + TOKEN_TTL,
        )
    )

    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(token)


async def test_a_token_claiming_another_company_for_a_real_user_is_rejected(
    platform: Platform, member: Member, globex: Tenant
) -> None:
    now = platform.clock.now()
    token = platform.tokens.issue(
        AccessClaims(
            subject=member.user.id,
            company_id=globex.company.id,
            role=Role.MEMBER,
            token_id="t1",
            issued_at=now,
            expires_at=now + TOKEN_TTL,
        )
    )

    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(token)


async def test_authenticate_gives_the_current_role_after_a_role_change(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    token = (await platform.auth.login(member.user.email, PASSWORD)).access_token
    await platform.users.change_role(acme.owner.principal, member.user.id, Role.ADMIN)

    principal = await platform.auth.authenticate(token)

    assert decode(token)["role"] == "member"
    assert principal.role is Role.ADMIN


async def test_a_deactivated_users_tokens_stay_void_after_reactivation(
    platform: Platform, acme: Tenant, member: Member
) -> None:
    token = (await platform.auth.login(member.user.email, PASSWORD)).access_token
    platform.clock.advance(timedelta(seconds=1))
    await platform.users.deactivate(acme.owner.principal, member.user.id)

    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(token)

    await platform.users.reactivate(acme.owner.principal, member.user.id)
    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(token)
    fresh = (await platform.auth.login(member.user.email, PASSWORD)).access_token
    assert (await platform.auth.authenticate(fresh)).user_id == member.user.id


async def test_a_password_change_voids_the_tokens_issued_before_it(
    platform: Platform, member: Member
) -> None:
    """A thief who phished the old password and holds a token, full or enrol-only, loses it."""
    before = (await platform.auth.login(member.user.email, PASSWORD)).access_token
    platform.clock.advance(timedelta(seconds=1))
    await platform.auth.change_password(member.principal, current=PASSWORD, new="a new passphrase")

    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate(before)
    with pytest.raises(Unauthenticated):
        await platform.auth.authenticate_for_enrollment(before)
    after = (await platform.auth.login(member.user.email, "a new passphrase")).access_token
    assert (await platform.auth.authenticate(after)).user_id == member.user.id


async def test_login_upgrades_a_hash_made_with_weaker_parameters(
    platform: Platform, member: Member
) -> None:
    stronger = fast_hasher(time_cost=2, memory_cost_kib=16)
    assert stronger.needs_rehash(member.user.password_hash)

    await platform.auth_with(stronger).login(member.user.email, PASSWORD)

    stored = await platform.user_store.get(member.user.company_id, member.user.id)
    assert stored.password_hash != member.user.password_hash
    assert "m=16,t=2,p=1" in stored.password_hash
    assert not stronger.needs_rehash(stored.password_hash)
    assert stronger.verify(stored.password_hash, PASSWORD)
    assert stored.version == member.user.version + 1


async def test_login_leaves_a_current_hash_alone(platform: Platform, member: Member) -> None:
    await platform.auth.login(member.user.email, PASSWORD)

    stored = await platform.user_store.get(member.user.company_id, member.user.id)
    assert stored == member.user


async def test_a_wrong_password_never_upgrades_the_hash(platform: Platform, member: Member) -> None:
    stronger = fast_hasher(time_cost=2, memory_cost_kib=16)

    with pytest.raises(Unauthenticated):
        await platform.auth_with(stronger).login(member.user.email, "not the password")

    stored = await platform.user_store.get(member.user.company_id, member.user.id)
    assert stored == member.user


class UnwritableUserStore(InMemoryUserStore):
    """Reads work, writes fail: a store that went away between the read and the write."""

    async def update(self, user: User) -> None:
        raise Unavailable("the store is down")


async def test_a_hash_upgrade_that_cannot_be_saved_does_not_fail_the_login(
    platform: Platform, member: Member
) -> None:
    store = UnwritableUserStore()
    await store.add(member.user)
    stronger = fast_hasher(time_cost=2, memory_cost_kib=16)
    auth = platform.auth_with(stronger, users=store)

    outcome = await auth.login(member.user.email, PASSWORD)

    assert outcome.user == member.user
    assert (await auth.authenticate(outcome.access_token)).user_id == member.user.id


async def test_a_token_remembered_after_its_first_check_still_expires_on_the_clock(
    platform: Platform, member: Member
) -> None:
    outcome = await platform.auth.login(member.user.email, PASSWORD)
    assert isinstance(outcome, Authenticated)
    assert platform.tokens.verify(outcome.access_token).subject == member.user.id

    platform.clock.advance(TOKEN_TTL + LEEWAY)

    with pytest.raises(Unauthenticated, match="expired"):
        platform.tokens.verify(outcome.access_token)
    tampered = outcome.access_token[:-2] + ("A" if outcome.access_token[-2] != "A" else "B") + "x"
    with pytest.raises(Unauthenticated, match="invalid"):
        platform.tokens.verify(tampered)


async def test_the_event_loop_keeps_serving_while_a_password_is_checked(
    platform: Platform, acme: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    verify = platform.hasher.verify

    def slow_verify(password_hash: str, password: str) -> bool:
        time.sleep(0.2)  # a real Argon2 check at production cost takes about this long
        return verify(password_hash, password)

    monkeypatch.setattr(platform.hasher, "verify", slow_verify)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        await platform.auth.login(acme.owner.user.email, PASSWORD)
    finally:
        ticker.cancel()

    assert ticks >= 5
