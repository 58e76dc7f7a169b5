"""The seed's cache entries: cached reads, invalidation per domain event, manual clears."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from novapulse_core.domain import events
from novapulse_core.domain.cache import MEMBERS_TTL, STATS_TTL, CacheKeys
from novapulse_core.domain.errors import Forbidden, NotFound, Unavailable
from novapulse_core.domain.events import DomainEvent
from novapulse_core.domain.identity import Role, User
from novapulse_core.domain.paging import Page, PageRequest

from .cache_kit import Caching
from .kit import PASSWORD, Platform, Tenant


@pytest.fixture
def caching(platform: Platform) -> Caching:
    return Caching(platform)


def _event(kind: str, company_id: str = "c1", /, **data: object) -> DomainEvent:
    return DomainEvent("e1", kind, company_id, datetime(2026, 1, 1, tzinfo=UTC), data)


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        (events.COMPANY_UPDATED, {}, ["cache:company:c1:stats"]),
        (events.COMPANY_CREATED, {}, []),
        (
            events.USER_CREATED,
            {"user_id": "u1"},
            ["cache:company:c1:stats", "cache:user:u1:profile"],
        ),
        (events.USER_UPDATED, {"user_id": "u1"}, ["cache:user:u1:profile"]),
        (events.DEPARTMENT_CREATED, {"department_id": "d1"}, ["cache:company:c1:stats"]),
        (events.DEPARTMENT_UPDATED, {"department_id": "d1"}, ["cache:company:c1:stats"]),
        (
            events.DEPARTMENT_DELETED,
            {"department_id": "d1"},
            ["cache:company:c1:stats", "cache:department:d1:members"],
        ),
        (events.MFA_ENABLED, {"user_id": "u1"}, []),
    ],
)
async def test_each_event_names_the_keys_it_makes_wrong(
    caching: Caching, kind: str, data: dict[str, object], expected: list[str]
) -> None:
    assert await caching.invalidation.affected(_event(kind, **data)) == expected


@pytest.mark.parametrize(
    "kind", [events.USER_ROLE_CHANGED, events.USER_DEACTIVATED, events.USER_REACTIVATED]
)
async def test_a_users_role_or_activity_changes_its_stats_profile_and_member_lists(
    platform: Platform, caching: Caching, acme: Tenant, kind: str
) -> None:
    member = await platform.add_user(acme)
    actor = acme.owner.principal
    sales = await platform.departments.create(actor, name="Sales")
    await platform.departments.create(actor, name="Empty")
    await platform.departments.add_member(actor, sales.id, member.user.id)

    keys = await caching.invalidation.affected(
        _event(kind, acme.company.id, user_id=member.user.id)
    )

    assert keys == [
        f"cache:company:{acme.company.id}:stats",
        f"cache:user:{member.user.id}:profile",
        f"cache:department:{sales.id}:members",
    ]


async def test_stats_are_cached_for_60_seconds_and_fresh_after_a_change(
    platform: Platform, caching: Caching, acme: Tenant
) -> None:
    actor = acme.owner.principal
    before = await caching.stats.company_stats(actor)
    assert caching.cache.inner.remaining(f"cache:company:{acme.company.id}:stats") == STATS_TTL

    await platform.add_user(acme, Role.MANAGER)

    after = await caching.stats.company_stats(actor)
    assert (before.active_users, after.active_users) == (1, 2)
    assert after == await platform.stats.company_stats(actor)


async def test_a_profile_is_fresh_after_an_edit_and_never_holds_the_password_hash(
    platform: Platform, caching: Caching, acme: Tenant
) -> None:
    member = await platform.add_user(acme)
    actor = acme.owner.principal
    await caching.profiles.get(actor, member.user.id)
    raw = await caching.cache.inner.get(f"cache:user:{member.user.id}:profile")
    assert raw is not None
    assert member.user.password_hash.encode() not in raw

    await platform.users.update_profile(actor, member.user.id, name="Renamed")
    await platform.users.change_role(actor, member.user.id, Role.MANAGER)

    profile = await caching.profiles.get(actor, member.user.id)
    assert (profile.name, profile.role, profile.password_hash) == ("Renamed", Role.MANAGER, "")


async def test_a_profile_is_fresh_after_a_password_change(
    platform: Platform, caching: Caching, acme: Tenant
) -> None:
    member = await platform.add_user(acme)
    await caching.profiles.get(acme.owner.principal, member.user.id)

    await platform.auth.change_password(member.principal, current=PASSWORD, new="a new passphrase")

    profile = await caching.profiles.get(acme.owner.principal, member.user.id)
    stored = await platform.user_store.get(acme.company.id, member.user.id)
    assert (profile.version, profile.updated_at) == (stored.version, stored.updated_at)
    assert platform.events.published[-1].type == events.USER_PASSWORD_CHANGED


async def test_member_lists_are_fresh_after_membership_and_profile_changes(
    platform: Platform, caching: Caching, acme: Tenant
) -> None:
    actor = acme.owner.principal
    team = await platform.departments.create(actor, name="Team")
    users = [await platform.add_user(acme) for _ in range(3)]
    for member in users[:2]:
        await platform.departments.add_member(actor, team.id, member.user.id)
    first = await caching.members.members(actor, team.id, PageRequest())
    assert caching.cache.inner.remaining(f"cache:department:{team.id}:members") == MEMBERS_TTL

    await platform.departments.add_member(actor, team.id, users[2].user.id)
    await platform.departments.remove_member(actor, team.id, users[0].user.id)
    await platform.users.update_profile(actor, users[1].user.id, name="Bea")

    page = await caching.members.members(actor, team.id, PageRequest())
    assert len(first.items) == 2
    plain = await platform.departments.members(actor, team.id, PageRequest())
    assert [(u.id, u.name, u.version) for u in page.items] == [
        (u.id, u.name, u.version) for u in plain.items
    ]
    assert page.items[0].name == "Bea"


async def test_member_pages_from_the_cache_match_the_uncached_pages(
    platform: Platform, caching: Caching, acme: Tenant
) -> None:
    actor = acme.owner.principal
    team = await platform.departments.create(actor, name="Team")
    for _ in range(5):
        member = await platform.add_user(acme)
        await platform.departments.add_member(actor, team.id, member.user.id)

    cached, plain, after = [], [], None
    while True:
        request = PageRequest(limit=2, after=after)
        page = await caching.members.members(actor, team.id, request)
        cached.append([u.id for u in page.items])
        plain.append(
            [u.id for u in (await platform.departments.members(actor, team.id, request)).items]
        )
        if (after := page.next_after) is None:
            break

    assert cached == plain
    assert [len(p) for p in cached] == [2, 2, 1]


async def test_another_companys_read_of_the_same_id_at_that_moment_changes_no_answer(
    platform: Platform, caching: Caching, acme: Tenant, globex: Tenant
) -> None:
    member = await platform.add_user(acme)
    team = await platform.departments.create(acme.owner.principal, name="Team")

    outsider, profile, _, members = await asyncio.gather(
        caching.profiles.get(globex.owner.principal, member.user.id),
        caching.profiles.get(acme.owner.principal, member.user.id),
        caching.members.members(globex.owner.principal, team.id, PageRequest()),
        caching.members.members(acme.owner.principal, team.id, PageRequest()),
        return_exceptions=True,
    )

    assert isinstance(outsider, NotFound)
    assert isinstance(profile, User)
    assert profile.id == member.user.id
    assert isinstance(members, Page)


async def test_a_cached_entry_of_another_company_is_not_found(
    platform: Platform, caching: Caching, acme: Tenant, globex: Tenant
) -> None:
    actor = acme.owner.principal
    team = await platform.departments.create(actor, name="Team")
    await caching.profiles.get(actor, acme.owner.user.id)
    await caching.members.members(actor, team.id, PageRequest())

    with pytest.raises(NotFound):
        await caching.profiles.get(globex.owner.principal, acme.owner.user.id)
    with pytest.raises(NotFound):
        await caching.members.members(globex.owner.principal, team.id, PageRequest())


async def test_an_admin_clears_only_its_companys_entries(
    platform: Platform, caching: Caching, acme: Tenant, globex: Tenant
) -> None:
    for tenant in (acme, globex):
        actor = tenant.owner.principal
        team = await platform.departments.create(actor, name="Team")
        await caching.stats.company_stats(actor)
        await caching.profiles.get(actor, tenant.owner.user.id)
        await caching.members.members(actor, team.id, PageRequest())

    cleared = await caching.admin.clear_company(acme.owner.principal)

    assert cleared == 3
    assert caching.cached() == sorted(k for k in caching.cached() if acme.company.id not in k)
    assert len(caching.cached()) == 3
    assert f"cache:company:{globex.company.id}:stats" in caching.cached()


async def test_only_admins_clear_a_companys_cache(
    platform: Platform, caching: Caching, acme: Tenant
) -> None:
    manager = await platform.add_user(acme, Role.MANAGER)

    with pytest.raises(Forbidden):
        await caching.admin.clear_company(manager.principal)


async def test_an_operator_clears_every_entry_and_only_the_caches(
    platform: Platform, acme: Tenant, globex: Tenant
) -> None:
    caching = Caching(platform, CacheKeys(prefix="blue"))
    await caching.cache.inner.set("green:company:x:stats", b"v", STATS_TTL)
    for tenant in (acme, globex):
        await caching.stats.company_stats(tenant.owner.principal)

    assert await caching.admin.clear_all() == 2

    assert caching.cached() == ["green:company:x:stats"]


async def test_with_the_cache_down_reads_come_from_the_store_and_nothing_fails(
    platform: Platform, caching: Caching, acme: Tenant
) -> None:
    actor = acme.owner.principal
    await caching.stats.company_stats(actor)
    caching.cache.down = True

    await platform.add_user(acme)  # the invalidation cannot reach the cache: counted

    assert (await caching.stats.company_stats(actor)).active_users == 2
    assert (await caching.profiles.get(actor, acme.owner.user.id)).id == acme.owner.user.id
    assert caching.invalidation.failed == 1
    assert caching.aside.failed_open == 4
    assert platform.events.subscriber_failures == 0
    with pytest.raises(Unavailable):
        await caching.admin.clear_company(actor)
