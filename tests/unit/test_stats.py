"""Company statistics: active users by role, deactivated users, members by department."""

from __future__ import annotations

import pytest

from novapulse_core.domain.errors import Forbidden
from novapulse_core.domain.identity import Role
from novapulse_core.domain.stats import DepartmentSize

from .kit import Platform, Tenant


async def test_stats_count_active_users_by_role_and_deactivated_users(
    platform: Platform, acme: Tenant, globex: Tenant
) -> None:
    await platform.add_user(acme, Role.ADMIN)
    for _ in range(2):
        await platform.add_user(acme, Role.MANAGER)
    members = [await platform.add_user(acme, Role.MEMBER) for _ in range(3)]
    await platform.add_user(globex, Role.MEMBER)
    await platform.users.deactivate(acme.owner.principal, members[0].user.id)

    stats = await platform.stats.company_stats(acme.owner.principal)

    assert stats.company_id == acme.company.id
    assert dict(stats.active_users_by_role) == {
        Role.OWNER: 1,
        Role.ADMIN: 1,
        Role.MANAGER: 2,
        Role.MEMBER: 2,
    }
    assert stats.active_users == 6
    assert stats.deactivated_users == 1


async def test_stats_count_members_by_department_ordered_by_name(
    platform: Platform, acme: Tenant, globex: Tenant
) -> None:
    actor = acme.owner.principal
    sales = await platform.departments.create(actor, name="sales")
    ops = await platform.departments.create(actor, name="Ops")
    await platform.departments.create(globex.owner.principal, name="Audit")
    people = [await platform.add_user(acme) for _ in range(3)]
    for person in people:
        await platform.departments.add_member(actor, sales.id, person.user.id)
    await platform.departments.add_member(actor, ops.id, people[0].user.id)

    stats = await platform.stats.company_stats(actor)

    assert stats.departments == (
        DepartmentSize(department_id=ops.id, name="Ops", members=1),
        DepartmentSize(department_id=sales.id, name="sales", members=3),
    )


async def test_stats_follow_a_reactivation_and_a_role_change(
    platform: Platform, acme: Tenant
) -> None:
    member = await platform.add_user(acme, Role.MEMBER)
    await platform.users.deactivate(acme.owner.principal, member.user.id)
    await platform.users.reactivate(acme.owner.principal, member.user.id)
    await platform.users.change_role(acme.owner.principal, member.user.id, Role.ADMIN)

    stats = await platform.stats.company_stats(acme.owner.principal)

    assert stats.active_users_by_role[Role.ADMIN] == 1
    assert stats.active_users_by_role[Role.MEMBER] == 0
    assert stats.deactivated_users == 0


async def test_stats_name_every_role_with_zero_where_nobody_holds_it(
    platform: Platform, acme: Tenant
) -> None:
    stats = await platform.stats.company_stats(acme.owner.principal)

    assert dict(stats.active_users_by_role) == {
        Role.OWNER: 1,
        Role.ADMIN: 0,
        Role.MANAGER: 0,
        Role.MEMBER: 0,
    }
    assert stats.deactivated_users == 0
    assert stats.departments == ()


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.MANAGER])
async def test_owners_admins_and_managers_read_stats(
    platform: Platform, acme: Tenant, role: Role
) -> None:
    actor = await platform.add_user(acme, role)

    stats = await platform.stats.company_stats(actor.principal)

    assert stats.active_users == 2


async def test_a_member_cannot_read_stats(platform: Platform, acme: Tenant) -> None:
    member = await platform.add_user(acme, Role.MEMBER)

    with pytest.raises(Forbidden):
        await platform.stats.company_stats(member.principal)


async def test_computed_stats_match_what_an_authorised_reader_sees(
    platform: Platform, acme: Tenant
) -> None:
    await platform.departments.create(acme.owner.principal, name="Ops")

    assert await platform.stats.compute(acme.company.id) == await platform.stats.company_stats(
        acme.owner.principal
    )
