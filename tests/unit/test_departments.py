"""Departments: creation, unique names, edits, deletion and membership."""

from __future__ import annotations

from datetime import timedelta

import pytest

from novapulse_core.domain import events
from novapulse_core.domain.errors import Conflict, Forbidden, Invalid, NotFound
from novapulse_core.domain.identity import Role
from novapulse_core.domain.paging import PageRequest

from .kit import Platform, Tenant


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.MANAGER])
async def test_an_owner_admin_or_manager_creates_a_department(
    platform: Platform, acme: Tenant, role: Role
) -> None:
    actor = await platform.add_user(acme, role)

    department = await platform.departments.create(
        actor.principal, name="  Research   Lab ", description="  Rockets.  "
    )

    stored = await platform.department_store.get(acme.company.id, department.id)
    assert stored == department
    assert (stored.company_id, stored.name, stored.description) == (
        acme.company.id,
        "Research Lab",
        "Rockets.",
    )
    assert stored.member_ids == ()
    last = platform.events.published[-1]
    assert (last.type, last.company_id, last.data) == (
        events.DEPARTMENT_CREATED,
        acme.company.id,
        {"department_id": department.id, "name": "Research Lab"},
    )


async def test_a_member_cannot_create_a_department(platform: Platform, acme: Tenant) -> None:
    member = await platform.add_user(acme, Role.MEMBER)

    with pytest.raises(Forbidden):
        await platform.departments.create(member.principal, name="Shadow IT")

    page = await platform.departments.list(acme.owner.principal, PageRequest())
    assert page.items == []


async def test_department_names_are_unique_within_a_company_whatever_the_case(
    platform: Platform, acme: Tenant
) -> None:
    await platform.departments.create(acme.owner.principal, name="Sales")

    with pytest.raises(Conflict):
        await platform.departments.create(acme.owner.principal, name=" SALES ")

    page = await platform.departments.list(acme.owner.principal, PageRequest())
    assert [d.name for d in page.items] == ["Sales"]


async def test_two_companies_may_each_have_a_department_of_the_same_name(
    platform: Platform, acme: Tenant, globex: Tenant
) -> None:
    ours = await platform.departments.create(acme.owner.principal, name="Sales")
    theirs = await platform.departments.create(globex.owner.principal, name="Sales")

    assert ours.id != theirs.id
    assert (await platform.department_store.get(globex.company.id, theirs.id)).name == "Sales"


async def test_a_description_longer_than_two_thousand_characters_is_refused(
    platform: Platform, acme: Tenant
) -> None:
    with pytest.raises(Invalid):
        await platform.departments.create(acme.owner.principal, name="Ops", description="x" * 2001)

    assert platform.events_of(events.DEPARTMENT_CREATED) == []


async def test_updating_a_department_changes_its_name_and_description(
    platform: Platform, acme: Tenant
) -> None:
    department = await platform.departments.create(acme.owner.principal, name="Ops")
    platform.clock.advance(timedelta(days=1))

    await platform.departments.update(
        acme.owner.principal, department.id, name="Operations", description="Keeps lights on"
    )

    stored = await platform.department_store.get(acme.company.id, department.id)
    assert (stored.name, stored.description) == ("Operations", "Keeps lights on")
    assert stored.version == department.version + 1
    assert stored.updated_at == platform.clock.now() != stored.created_at
    last = platform.events.published[-1]
    assert (last.type, last.data) == (
        events.DEPARTMENT_UPDATED,
        {"department_id": department.id, "fields": ["description", "name"]},
    )


async def test_a_department_cannot_be_renamed_to_a_taken_name(
    platform: Platform, acme: Tenant
) -> None:
    await platform.departments.create(acme.owner.principal, name="Sales")
    ops = await platform.departments.create(acme.owner.principal, name="Ops")

    with pytest.raises(Conflict):
        await platform.departments.update(acme.owner.principal, ops.id, name="sales")

    assert await platform.department_store.get(acme.company.id, ops.id) == ops


async def test_renaming_a_department_to_another_case_of_its_own_name_is_allowed(
    platform: Platform, acme: Tenant
) -> None:
    ops = await platform.departments.create(acme.owner.principal, name="ops")

    await platform.departments.update(acme.owner.principal, ops.id, name="OPS")

    assert (await platform.department_store.get(acme.company.id, ops.id)).name == "OPS"


async def test_an_empty_department_update_changes_and_announces_nothing(
    platform: Platform, acme: Tenant
) -> None:
    ops = await platform.departments.create(acme.owner.principal, name="Ops")

    await platform.departments.update(acme.owner.principal, ops.id)

    assert await platform.department_store.get(acme.company.id, ops.id) == ops
    assert platform.events_of(events.DEPARTMENT_UPDATED) == []


async def test_a_member_cannot_update_or_delete_a_department(
    platform: Platform, acme: Tenant
) -> None:
    member = await platform.add_user(acme, Role.MEMBER)
    ops = await platform.departments.create(acme.owner.principal, name="Ops")

    with pytest.raises(Forbidden):
        await platform.departments.update(member.principal, ops.id, name="Mine")
    with pytest.raises(Forbidden):
        await platform.departments.delete(member.principal, ops.id)

    assert await platform.department_store.get(acme.company.id, ops.id) == ops


async def test_a_deleted_department_is_gone_and_announced(platform: Platform, acme: Tenant) -> None:
    ops = await platform.departments.create(acme.owner.principal, name="Ops")

    await platform.departments.delete(acme.owner.principal, ops.id)

    with pytest.raises(NotFound):
        await platform.departments.get(acme.owner.principal, ops.id)
    with pytest.raises(NotFound):
        await platform.departments.delete(acme.owner.principal, ops.id)
    deleted = platform.events_of(events.DEPARTMENT_DELETED)
    assert [(e.company_id, e.data) for e in deleted] == [
        (acme.company.id, {"department_id": ops.id})
    ]


async def test_the_name_of_a_deleted_department_is_free_again(
    platform: Platform, acme: Tenant
) -> None:
    ops = await platform.departments.create(acme.owner.principal, name="Ops")
    await platform.departments.delete(acme.owner.principal, ops.id)

    again = await platform.departments.create(acme.owner.principal, name="Ops")

    assert again.id != ops.id


async def test_adding_a_member_twice_keeps_one_membership_and_one_event(
    platform: Platform, acme: Tenant
) -> None:
    ops = await platform.departments.create(acme.owner.principal, name="Ops")
    member = await platform.add_user(acme)

    await platform.departments.add_member(acme.owner.principal, ops.id, member.user.id)
    again = await platform.departments.add_member(acme.owner.principal, ops.id, member.user.id)

    stored = await platform.department_store.get(acme.company.id, ops.id)
    assert stored == again
    assert stored.member_ids == (member.user.id,)
    assert stored.version == ops.version + 1
    added = platform.events_of(events.DEPARTMENT_MEMBER_ADDED)
    assert [e.data for e in added] == [{"department_id": ops.id, "user_id": member.user.id}]


async def test_a_user_of_another_company_cannot_be_added_to_a_department(
    platform: Platform, acme: Tenant, globex: Tenant
) -> None:
    ops = await platform.departments.create(acme.owner.principal, name="Ops")

    with pytest.raises(NotFound):
        await platform.departments.add_member(acme.owner.principal, ops.id, globex.owner.user.id)

    assert await platform.department_store.get(acme.company.id, ops.id) == ops


async def test_an_unknown_user_cannot_be_added_to_a_department(
    platform: Platform, acme: Tenant
) -> None:
    ops = await platform.departments.create(acme.owner.principal, name="Ops")

    with pytest.raises(NotFound):
        await platform.departments.add_member(acme.owner.principal, ops.id, "no-such-user")

    assert await platform.department_store.get(acme.company.id, ops.id) == ops


async def test_removing_a_member_leaves_the_others(platform: Platform, acme: Tenant) -> None:
    ops = await platform.departments.create(acme.owner.principal, name="Ops")
    first, second = await platform.add_user(acme), await platform.add_user(acme)
    for member in (first, second):
        await platform.departments.add_member(acme.owner.principal, ops.id, member.user.id)

    await platform.departments.remove_member(acme.owner.principal, ops.id, first.user.id)

    stored = await platform.department_store.get(acme.company.id, ops.id)
    assert stored.member_ids == (second.user.id,)
    removed = platform.events_of(events.DEPARTMENT_MEMBER_REMOVED)
    assert [e.data for e in removed] == [{"department_id": ops.id, "user_id": first.user.id}]


async def test_removing_someone_who_is_not_a_member_is_not_found(
    platform: Platform, acme: Tenant
) -> None:
    ops = await platform.departments.create(acme.owner.principal, name="Ops")
    outsider = await platform.add_user(acme)

    with pytest.raises(NotFound):
        await platform.departments.remove_member(acme.owner.principal, ops.id, outsider.user.id)

    assert await platform.department_store.get(acme.company.id, ops.id) == ops


async def test_department_members_are_paged_in_user_id_order(
    platform: Platform, acme: Tenant
) -> None:
    ops = await platform.departments.create(acme.owner.principal, name="Ops")
    people = [await platform.add_user(acme) for _ in range(5)]
    for person in reversed(people):
        await platform.departments.add_member(acme.owner.principal, ops.id, person.user.id)
    reader = await platform.add_user(acme, Role.MEMBER)

    first = await platform.departments.members(reader.principal, ops.id, PageRequest(limit=2))
    second = await platform.departments.members(
        reader.principal, ops.id, PageRequest(limit=2, after=first.next_after)
    )
    third = await platform.departments.members(
        reader.principal, ops.id, PageRequest(limit=2, after=second.next_after)
    )

    ids = [p.user.id for p in people]
    assert [u.id for u in first.items] == ids[0:2]
    assert [u.id for u in second.items] == ids[2:4]
    assert [u.id for u in third.items] == ids[4:]
    assert (first.next_after, second.next_after, third.next_after) == (ids[1], ids[3], None)


async def test_departments_are_listed_page_by_page(platform: Platform, acme: Tenant) -> None:
    created = [
        await platform.departments.create(acme.owner.principal, name=name)
        for name in ("Ops", "Sales", "Legal")
    ]

    first = await platform.departments.list(acme.owner.principal, PageRequest(limit=2))
    rest = await platform.departments.list(
        acme.owner.principal, PageRequest(limit=2, after=first.next_after)
    )

    assert [d.id for d in [*first.items, *rest.items]] == [d.id for d in created]
    assert rest.next_after is None


async def test_a_department_of_another_company_is_not_found(
    platform: Platform, acme: Tenant, globex: Tenant
) -> None:
    theirs = await platform.departments.create(globex.owner.principal, name="Ops")
    mine = await platform.add_user(acme)
    actor = acme.owner.principal

    with pytest.raises(NotFound):
        await platform.departments.get(actor, theirs.id)
    with pytest.raises(NotFound):
        await platform.departments.update(actor, theirs.id, name="Taken over")
    with pytest.raises(NotFound):
        await platform.departments.add_member(actor, theirs.id, mine.user.id)
    with pytest.raises(NotFound):
        await platform.departments.members(actor, theirs.id, PageRequest())
    with pytest.raises(NotFound):
        await platform.departments.delete(actor, theirs.id)

    assert await platform.department_store.get(globex.company.id, theirs.id) == theirs
