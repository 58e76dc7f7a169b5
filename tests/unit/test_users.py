"""Users of a company: adding, listing, profiles, roles, deactivation and passwords."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from novapulse_core.domain import events
from novapulse_core.domain.auth import Authenticated
from novapulse_core.domain.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from novapulse_core.domain.identity import Role, User
from novapulse_core.domain.paging import PageRequest
from novapulse_core.services.users import UserService

from .kit import LIMITS, PASSWORD, Member, Platform, Tenant, Yielding


async def test_an_admin_adds_a_user_who_is_stored_and_announced(
    platform: Platform, acme: Tenant
) -> None:
    admin = await platform.add_user(acme, Role.ADMIN)

    user = await platform.users.add(
        admin.principal,
        email=" Mia@Example.com ",
        name="Mia  Member",
        role=Role.MEMBER,
        password="a long enough secret",
    )

    stored = await platform.user_store.get(acme.company.id, user.id)
    assert stored == user
    assert (stored.email, stored.name, stored.role, stored.active) == (
        "mia@example.com",
        "Mia Member",
        Role.MEMBER,
        True,
    )
    assert platform.hasher.verify(stored.password_hash, "a long enough secret")
    last = platform.events.published[-1]
    assert (last.type, last.company_id) == (events.USER_CREATED, acme.company.id)
    assert last.data == {"user_id": user.id, "email": "mia@example.com", "role": "member"}


async def test_an_email_taken_in_any_company_cannot_be_added_again(
    platform: Platform, acme: Tenant
) -> None:
    globex = await platform.register("Globex", email="taken@example.com")
    published_before = len(platform.events.published)

    with pytest.raises(Conflict):
        await platform.users.add(
            acme.owner.principal,
            email="TAKEN@example.com",
            name="Copycat",
            role=Role.MEMBER,
            password=PASSWORD,
        )

    assert (await platform.user_store.find_by_email("taken@example.com")) == globex.owner.user
    assert len(platform.events.published) == published_before


@pytest.mark.parametrize("role", [Role.MANAGER, Role.MEMBER])
async def test_a_manager_or_member_cannot_add_users(
    platform: Platform, acme: Tenant, role: Role
) -> None:
    actor = await platform.add_user(acme, role)

    with pytest.raises(Forbidden):
        await platform.users.add(
            actor.principal,
            email="new@example.com",
            name="New",
            role=Role.MEMBER,
            password=PASSWORD,
        )

    assert await platform.user_store.find_by_email("new@example.com") is None


async def test_only_an_owner_may_add_another_owner(platform: Platform, acme: Tenant) -> None:
    admin = await platform.add_user(acme, Role.ADMIN)

    with pytest.raises(Forbidden):
        await platform.users.add(
            admin.principal, email="o2@example.com", name="O2", role=Role.OWNER, password=PASSWORD
        )
    assert await platform.user_store.find_by_email("o2@example.com") is None

    second = await platform.users.add(
        acme.owner.principal, email="o2@example.com", name="O2", role=Role.OWNER, password=PASSWORD
    )
    assert (await platform.user_store.get(acme.company.id, second.id)).role is Role.OWNER


async def test_a_password_shorter_than_eight_characters_is_refused(
    platform: Platform, acme: Tenant
) -> None:
    with pytest.raises(Invalid):
        await platform.users.add(
            acme.owner.principal,
            email="w@example.com",
            name="W",
            role=Role.MEMBER,
            password="1234567",
        )

    assert await platform.user_store.find_by_email("w@example.com") is None


async def test_listing_pages_through_every_user_of_the_company_in_id_order(
    platform: Platform, acme: Tenant
) -> None:
    added = [await platform.add_user(acme) for _ in range(4)]
    await platform.add_user(await platform.register("Globex"))
    expected = sorted([acme.owner.user.id, *(m.user.id for m in added)])

    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        page = await platform.users.list(acme.owner.principal, PageRequest(limit=2, after=after))
        pages += 1
        seen.extend(user.id for user in page.items)
        if page.next_after is None:
            break
        assert page.next_after == page.items[-1].id
        after = page.next_after

    assert seen == expected
    assert pages == 3


async def test_a_full_last_page_says_there_is_nothing_after_it(
    platform: Platform, acme: Tenant
) -> None:
    await platform.add_user(acme)

    page = await platform.users.list(acme.owner.principal, PageRequest(limit=2))

    assert len(page.items) == 2
    assert page.next_after is None


async def test_listing_filters_by_role_and_by_active_flag(platform: Platform, acme: Tenant) -> None:
    manager = await platform.add_user(acme, Role.MANAGER)
    gone = await platform.add_user(acme, Role.MEMBER)
    kept = await platform.add_user(acme, Role.MEMBER)
    await platform.users.deactivate(acme.owner.principal, gone.user.id)
    actor = acme.owner.principal

    members = await platform.users.list(actor, PageRequest(), role=Role.MEMBER)
    active_members = await platform.users.list(actor, PageRequest(), role=Role.MEMBER, active=True)
    inactive = await platform.users.list(actor, PageRequest(), active=False)
    managers = await platform.users.list(actor, PageRequest(), role=Role.MANAGER)

    assert [u.id for u in members.items] == [gone.user.id, kept.user.id]
    assert [u.id for u in active_members.items] == [kept.user.id]
    assert [u.id for u in inactive.items] == [gone.user.id]
    assert [u.id for u in managers.items] == [manager.user.id]


async def test_a_user_of_another_company_is_not_found(platform: Platform, acme: Tenant) -> None:
    globex = await platform.register("Globex")

    with pytest.raises(NotFound):
        await platform.users.get(acme.owner.principal, globex.owner.user.id)


async def test_members_returns_only_the_company_users_among_the_ids_in_id_order(
    platform: Platform, acme: Tenant
) -> None:
    globex = await platform.register("Globex")
    first = await platform.add_user(acme)
    second = await platform.add_user(acme)

    found = await platform.users.members(
        acme.owner.principal, [second.user.id, globex.owner.user.id, "nobody", first.user.id]
    )

    assert [u.id for u in found] == [first.user.id, second.user.id]


async def test_a_member_edits_its_own_profile(platform: Platform, acme: Tenant) -> None:
    member = await platform.add_user(acme, Role.MEMBER)
    platform.clock.advance(timedelta(hours=1))

    updated = await platform.users.update_profile(
        member.principal, member.user.id, name=" Mia  M ", email="MIA@example.com"
    )

    stored = await platform.user_store.get(acme.company.id, member.user.id)
    assert stored == updated
    assert (stored.name, stored.email) == ("Mia M", "mia@example.com")
    assert stored.version == member.user.version + 1
    assert stored.updated_at == platform.clock.now()
    assert await platform.user_store.find_by_email(member.user.email) is None
    last = platform.events.published[-1]
    assert (last.type, last.data) == (
        events.USER_UPDATED,
        {"user_id": member.user.id, "fields": ["email", "name"]},
    )


@pytest.mark.parametrize("role", [Role.MANAGER, Role.MEMBER])
async def test_a_manager_or_member_cannot_edit_someone_else(
    platform: Platform, acme: Tenant, role: Role
) -> None:
    actor = await platform.add_user(acme, role)
    other = await platform.add_user(acme, Role.MEMBER, name="Other")

    with pytest.raises(Forbidden):
        await platform.users.update_profile(actor.principal, other.user.id, name="Renamed")

    assert await platform.user_store.get(acme.company.id, other.user.id) == other.user


async def test_an_admin_edits_a_member_but_not_an_owner(platform: Platform, acme: Tenant) -> None:
    admin = await platform.add_user(acme, Role.ADMIN)
    member = await platform.add_user(acme, Role.MEMBER)

    edited = await platform.users.update_profile(admin.principal, member.user.id, name="Edited")
    with pytest.raises(Forbidden):
        await platform.users.update_profile(admin.principal, acme.owner.user.id, name="Edited")

    assert edited.name == "Edited"
    assert await platform.user_store.get(acme.company.id, acme.owner.user.id) == acme.owner.user


async def test_an_owner_edits_another_owner(platform: Platform, acme: Tenant) -> None:
    second = await platform.add_user(acme, Role.OWNER)

    await platform.users.update_profile(acme.owner.principal, second.user.id, name="Co Owner")

    assert (await platform.user_store.get(acme.company.id, second.user.id)).name == "Co Owner"


async def test_a_profile_cannot_take_an_email_already_in_use(
    platform: Platform, acme: Tenant
) -> None:
    member = await platform.add_user(acme)

    with pytest.raises(Conflict):
        await platform.users.update_profile(
            member.principal, member.user.id, email=acme.owner.user.email.upper()
        )

    assert await platform.user_store.get(acme.company.id, member.user.id) == member.user


async def test_an_empty_profile_edit_changes_and_announces_nothing(
    platform: Platform, acme: Tenant
) -> None:
    member = await platform.add_user(acme)
    published_before = len(platform.events.published)

    result = await platform.users.update_profile(member.principal, member.user.id)

    assert result == member.user
    assert await platform.user_store.get(acme.company.id, member.user.id) == member.user
    assert len(platform.events.published) == published_before


async def test_an_admin_changes_a_member_role(platform: Platform, acme: Tenant) -> None:
    admin = await platform.add_user(acme, Role.ADMIN)
    member = await platform.add_user(acme, Role.MEMBER)

    await platform.users.change_role(admin.principal, member.user.id, Role.MANAGER)

    stored = await platform.user_store.get(acme.company.id, member.user.id)
    assert stored.role is Role.MANAGER
    assert stored.version == member.user.version + 1
    last = platform.events.published[-1]
    assert (last.type, last.data) == (
        events.USER_ROLE_CHANGED,
        {"user_id": member.user.id, "old_role": "member", "new_role": "manager"},
    )


@pytest.mark.parametrize("role", [Role.MANAGER, Role.MEMBER])
async def test_a_manager_or_member_cannot_change_roles(
    platform: Platform, acme: Tenant, role: Role
) -> None:
    actor = await platform.add_user(acme, role)
    member = await platform.add_user(acme, Role.MEMBER)

    with pytest.raises(Forbidden):
        await platform.users.change_role(actor.principal, member.user.id, Role.ADMIN)

    assert (await platform.user_store.get(acme.company.id, member.user.id)).role is Role.MEMBER


async def test_an_admin_can_neither_grant_nor_take_the_owner_role(
    platform: Platform, acme: Tenant
) -> None:
    admin = await platform.add_user(acme, Role.ADMIN)
    second_owner = await platform.add_user(acme, Role.OWNER)

    with pytest.raises(Forbidden):
        await platform.users.change_role(admin.principal, admin.user.id, Role.OWNER)
    with pytest.raises(Forbidden):
        await platform.users.change_role(admin.principal, second_owner.user.id, Role.MEMBER)

    assert (await platform.user_store.get(acme.company.id, admin.user.id)).role is Role.ADMIN
    assert (await platform.user_store.get(acme.company.id, second_owner.user.id)).role is Role.OWNER


async def test_an_owner_hands_over_ownership_and_steps_down(
    platform: Platform, acme: Tenant
) -> None:
    heir = await platform.add_user(acme, Role.ADMIN)

    await platform.users.change_role(acme.owner.principal, heir.user.id, Role.OWNER)
    await platform.users.change_role(acme.owner.principal, acme.owner.user.id, Role.ADMIN)

    assert (await platform.user_store.get(acme.company.id, heir.user.id)).role is Role.OWNER
    assert (await platform.user_store.get(acme.company.id, acme.owner.user.id)).role is Role.ADMIN


async def test_the_last_active_owner_cannot_be_demoted(platform: Platform, acme: Tenant) -> None:
    with pytest.raises(Conflict):
        await platform.users.change_role(acme.owner.principal, acme.owner.user.id, Role.ADMIN)

    assert (await platform.user_store.get(acme.company.id, acme.owner.user.id)).role is Role.OWNER
    assert platform.events_of(events.USER_ROLE_CHANGED) == []


@pytest.mark.parametrize("removal", ["demote", "deactivate"])
async def test_two_owners_removing_each_other_at_once_leave_one_owner(
    platform: Platform, acme: Tenant, removal: str
) -> None:
    second = await platform.add_user(acme, Role.OWNER)
    platform.users = UserService(
        Yielding(platform.user_store),  # type: ignore[arg-type]
        platform.company_store,
        platform.hasher,
        platform.ids,
        platform.clock,
        platform.announcer,
    )

    async def remove(actor: Member, target: Member) -> User:
        if removal == "demote":
            return await platform.users.change_role(actor.principal, target.user.id, Role.ADMIN)
        return await platform.users.deactivate(actor.principal, target.user.id)

    answers = await asyncio.gather(
        remove(acme.owner, second), remove(second, acme.owner), return_exceptions=True
    )

    assert sorted(type(a).__name__ for a in answers) == ["Conflict", "User"]
    counts = await platform.user_store.count_by_role(acme.company.id, active=True)
    assert counts[Role.OWNER] == 1


async def test_a_deactivated_owner_does_not_count_as_the_owner_a_company_keeps(
    platform: Platform, acme: Tenant
) -> None:
    second = await platform.add_user(acme, Role.OWNER)
    await platform.users.deactivate(acme.owner.principal, second.user.id)

    with pytest.raises(Conflict):
        await platform.users.change_role(acme.owner.principal, acme.owner.user.id, Role.MEMBER)

    assert (await platform.user_store.get(acme.company.id, acme.owner.user.id)).role is Role.OWNER


async def test_a_deactivated_owner_may_be_demoted_while_an_active_owner_remains(
    platform: Platform, acme: Tenant
) -> None:
    second = await platform.add_user(acme, Role.OWNER)
    await platform.users.deactivate(acme.owner.principal, second.user.id)

    await platform.users.change_role(acme.owner.principal, second.user.id, Role.MEMBER)

    assert (await platform.user_store.get(acme.company.id, second.user.id)).role is Role.MEMBER


async def test_changing_to_the_same_role_changes_and_announces_nothing(
    platform: Platform, acme: Tenant
) -> None:
    member = await platform.add_user(acme, Role.MEMBER)

    await platform.users.change_role(acme.owner.principal, member.user.id, Role.MEMBER)

    assert await platform.user_store.get(acme.company.id, member.user.id) == member.user
    assert platform.events_of(events.USER_ROLE_CHANGED) == []


async def test_an_admin_deactivates_a_member(platform: Platform, acme: Tenant) -> None:
    admin = await platform.add_user(acme, Role.ADMIN)
    member = await platform.add_user(acme, Role.MEMBER)

    await platform.users.deactivate(admin.principal, member.user.id)

    stored = await platform.user_store.get(acme.company.id, member.user.id)
    assert not stored.active
    assert stored.version == member.user.version + 1
    last = platform.events.published[-1]
    assert (last.type, last.data) == (events.USER_DEACTIVATED, {"user_id": member.user.id})


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
async def test_nobody_deactivates_itself(platform: Platform, acme: Tenant, role: Role) -> None:
    await platform.add_user(acme, Role.OWNER)
    actor = await platform.add_user(acme, role)

    with pytest.raises(Conflict):
        await platform.users.deactivate(actor.principal, actor.user.id)

    assert (await platform.user_store.get(acme.company.id, actor.user.id)).active


async def test_the_only_owner_cannot_deactivate_itself(platform: Platform, acme: Tenant) -> None:
    with pytest.raises(Conflict):
        await platform.users.deactivate(acme.owner.principal, acme.owner.user.id)

    assert (await platform.user_store.get(acme.company.id, acme.owner.user.id)).active


async def test_the_last_active_owner_cannot_be_deactivated_even_by_a_stale_owner_principal(
    platform: Platform, acme: Tenant
) -> None:
    second = await platform.add_user(acme, Role.OWNER)
    await platform.users.deactivate(acme.owner.principal, second.user.id)

    with pytest.raises(Conflict):
        await platform.users.deactivate(second.principal, acme.owner.user.id)

    assert (await platform.user_store.get(acme.company.id, acme.owner.user.id)).active


async def test_an_owner_deactivates_another_owner(platform: Platform, acme: Tenant) -> None:
    second = await platform.add_user(acme, Role.OWNER)

    await platform.users.deactivate(acme.owner.principal, second.user.id)

    assert not (await platform.user_store.get(acme.company.id, second.user.id)).active


async def test_an_admin_cannot_deactivate_an_owner(platform: Platform, acme: Tenant) -> None:
    await platform.add_user(acme, Role.OWNER)
    admin = await platform.add_user(acme, Role.ADMIN)

    with pytest.raises(Forbidden):
        await platform.users.deactivate(admin.principal, acme.owner.user.id)

    assert (await platform.user_store.get(acme.company.id, acme.owner.user.id)).active


@pytest.mark.parametrize("role", [Role.MANAGER, Role.MEMBER])
async def test_a_manager_or_member_cannot_deactivate_anyone(
    platform: Platform, acme: Tenant, role: Role
) -> None:
    actor = await platform.add_user(acme, role)
    member = await platform.add_user(acme, Role.MEMBER)

    with pytest.raises(Forbidden):
        await platform.users.deactivate(actor.principal, member.user.id)

    assert (await platform.user_store.get(acme.company.id, member.user.id)).active


async def test_deactivating_an_inactive_user_changes_and_announces_nothing(
    platform: Platform, acme: Tenant
) -> None:
    member = await platform.add_user(acme)
    once = await platform.users.deactivate(acme.owner.principal, member.user.id)

    twice = await platform.users.deactivate(acme.owner.principal, member.user.id)

    assert twice == once
    assert await platform.user_store.get(acme.company.id, member.user.id) == once
    assert len(platform.events_of(events.USER_DEACTIVATED)) == 1


async def test_an_admin_reactivates_a_member_once(platform: Platform, acme: Tenant) -> None:
    admin = await platform.add_user(acme, Role.ADMIN)
    member = await platform.add_user(acme)
    await platform.users.deactivate(admin.principal, member.user.id)

    await platform.users.reactivate(admin.principal, member.user.id)
    await platform.users.reactivate(admin.principal, member.user.id)

    stored = await platform.user_store.get(acme.company.id, member.user.id)
    assert stored.active
    assert stored.version == member.user.version + 2
    reactivated = platform.events_of(events.USER_REACTIVATED)
    assert [event.data for event in reactivated] == [{"user_id": member.user.id}]


async def test_only_an_owner_reactivates_an_owner(platform: Platform, acme: Tenant) -> None:
    second = await platform.add_user(acme, Role.OWNER)
    admin = await platform.add_user(acme, Role.ADMIN)
    await platform.users.deactivate(acme.owner.principal, second.user.id)

    with pytest.raises(Forbidden):
        await platform.users.reactivate(admin.principal, second.user.id)
    assert not (await platform.user_store.get(acme.company.id, second.user.id)).active

    await platform.users.reactivate(acme.owner.principal, second.user.id)
    assert (await platform.user_store.get(acme.company.id, second.user.id)).active


async def test_a_member_cannot_reactivate_anyone(platform: Platform, acme: Tenant) -> None:
    actor = await platform.add_user(acme, Role.MEMBER)
    gone = await platform.add_user(acme, Role.MEMBER)
    await platform.users.deactivate(acme.owner.principal, gone.user.id)

    with pytest.raises(Forbidden):
        await platform.users.reactivate(actor.principal, gone.user.id)

    assert not (await platform.user_store.get(acme.company.id, gone.user.id)).active


async def test_changing_the_password_replaces_the_stored_hash(
    platform: Platform, acme: Tenant
) -> None:
    member = await platform.add_user(acme)

    await platform.auth.change_password(member.principal, current=PASSWORD, new="a new passphrase")

    stored = await platform.user_store.get(acme.company.id, member.user.id)
    assert platform.hasher.verify(stored.password_hash, "a new passphrase")
    assert not platform.hasher.verify(stored.password_hash, PASSWORD)
    assert stored.version == member.user.version + 1
    with pytest.raises(Unauthenticated):
        await platform.auth.login(member.user.email, PASSWORD)
    assert (await platform.auth.login(member.user.email, "a new passphrase")).user.id == stored.id


async def test_changing_the_password_needs_the_current_one(
    platform: Platform, acme: Tenant
) -> None:
    member = await platform.add_user(acme)

    with pytest.raises(Unauthenticated):
        await platform.auth.change_password(
            member.principal, current="not the password", new="a new passphrase"
        )

    assert await platform.user_store.get(acme.company.id, member.user.id) == member.user


async def test_a_new_password_must_be_strong_enough(platform: Platform, acme: Tenant) -> None:
    member = await platform.add_user(acme)

    with pytest.raises(Invalid):
        await platform.auth.change_password(member.principal, current=PASSWORD, new="short")

    assert await platform.user_store.get(acme.company.id, member.user.id) == member.user


async def test_a_password_change_ends_every_session_of_the_user(
    platform: Platform, acme: Tenant
) -> None:
    member = await platform.add_user(acme)
    session = await platform.auth.login(member.user.email, PASSWORD)
    assert isinstance(session, Authenticated)

    await platform.auth.change_password(member.principal, current=PASSWORD, new="a new passphrase")

    with pytest.raises(Unauthenticated):
        await platform.auth.refresh(session.refresh_token)


async def test_wrong_current_passwords_count_like_wrong_logins(
    platform: Platform, acme: Tenant
) -> None:
    member = await platform.add_user(acme)
    for _ in range(LIMITS.password_per_account):
        with pytest.raises(Unauthenticated):
            await platform.auth.change_password(
                member.principal, current="not it", new="a new passphrase"
            )

    with pytest.raises(RateLimited):
        await platform.auth.change_password(
            member.principal, current=PASSWORD, new="a new passphrase"
        )
