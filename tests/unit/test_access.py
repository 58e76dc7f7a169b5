"""Who may do what: the role-to-permission table, and the services enforcing it per role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from novapulse_core.domain.access import Permission, Principal, authorize
from novapulse_core.domain.errors import Forbidden
from novapulse_core.domain.identity import Role
from novapulse_core.domain.paging import PageRequest

from .kit import Member, Platform, Tenant

P = Permission
EXPECTED: dict[Role, set[Permission]] = {
    Role.OWNER: {
        P.READ_COMPANY,
        P.UPDATE_COMPANY,
        P.READ_USERS,
        P.MANAGE_USERS,
        P.ASSIGN_ROLES,
        P.READ_DEPARTMENTS,
        P.MANAGE_DEPARTMENTS,
        P.READ_STATS,
        P.MANAGE_JOBS,
        P.MANAGE_WEBHOOKS,
    },
    Role.ADMIN: {
        P.READ_COMPANY,
        P.UPDATE_COMPANY,
        P.READ_USERS,
        P.MANAGE_USERS,
        P.ASSIGN_ROLES,
        P.READ_DEPARTMENTS,
        P.MANAGE_DEPARTMENTS,
        P.READ_STATS,
        P.MANAGE_JOBS,
        P.MANAGE_WEBHOOKS,
    },
    Role.MANAGER: {
        P.READ_COMPANY,
        P.READ_USERS,
        P.READ_DEPARTMENTS,
        P.MANAGE_DEPARTMENTS,
        P.READ_STATS,
    },
    Role.MEMBER: {P.READ_COMPANY, P.READ_USERS, P.READ_DEPARTMENTS},
}
TABLE = [(role, permission) for role in Role for permission in Permission]


def principal(role: Role) -> Principal:
    return Principal(user_id="u1", company_id="c1", role=role)


@pytest.mark.parametrize(("role", "permission"), TABLE)
def test_each_role_has_exactly_the_permissions_of_the_table(
    role: Role, permission: Permission
) -> None:
    assert principal(role).can(permission) is (permission in EXPECTED[role])


@pytest.mark.parametrize(("role", "permission"), TABLE)
def test_authorize_refuses_exactly_what_a_role_cannot_do(
    role: Role, permission: Permission
) -> None:
    if permission in EXPECTED[role]:
        authorize(principal(role), permission)
    else:
        with pytest.raises(Forbidden, match=f"role {role.value} may not {permission.value}"):
            authorize(principal(role), permission)


def test_permission_values_are_the_stable_scope_strings() -> None:
    assert {p.value for p in Permission} == {
        "company:read",
        "company:update",
        "users:read",
        "users:manage",
        "roles:assign",
        "departments:read",
        "departments:manage",
        "stats:read",
        "jobs:manage",
        "webhooks:manage",
    }


Action = Callable[[Platform, Principal, Member], Awaitable[object]]


async def _rename_company(platform: Platform, actor: Principal, _: Member) -> object:
    return await platform.companies.rename(actor, "Renamed")


async def _add_user(platform: Platform, actor: Principal, _: Member) -> object:
    return await platform.users.add(
        actor, email="new@example.com", name="New", role=Role.MEMBER, password="long enough pw"
    )


async def _change_role(platform: Platform, actor: Principal, target: Member) -> object:
    return await platform.users.change_role(actor, target.user.id, Role.MANAGER)


async def _deactivate(platform: Platform, actor: Principal, target: Member) -> object:
    return await platform.users.deactivate(actor, target.user.id)


async def _create_department(platform: Platform, actor: Principal, _: Member) -> object:
    return await platform.departments.create(actor, name="Ops")


async def _read_stats(platform: Platform, actor: Principal, _: Member) -> object:
    return await platform.stats.company_stats(actor)


async def _read_user(platform: Platform, actor: Principal, target: Member) -> object:
    return await platform.users.get(actor, target.user.id)


async def _list_departments(platform: Platform, actor: Principal, _: Member) -> object:
    return await platform.departments.list(actor, PageRequest())


ACTIONS: dict[str, tuple[Action, set[Role]]] = {
    "rename the company": (_rename_company, {Role.OWNER, Role.ADMIN}),
    "add a user": (_add_user, {Role.OWNER, Role.ADMIN}),
    "change a role": (_change_role, {Role.OWNER, Role.ADMIN}),
    "deactivate a user": (_deactivate, {Role.OWNER, Role.ADMIN}),
    "create a department": (_create_department, {Role.OWNER, Role.ADMIN, Role.MANAGER}),
    "read stats": (_read_stats, {Role.OWNER, Role.ADMIN, Role.MANAGER}),
    "read a user": (_read_user, set(Role)),
    "list departments": (_list_departments, set(Role)),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(ACTIONS))
async def test_services_let_a_role_do_only_what_the_table_allows(
    platform: Platform, acme: Tenant, role: Role, action: str
) -> None:
    run, allowed = ACTIONS[action]
    actor = await platform.add_user(acme, role)
    target = await platform.add_user(acme, Role.MEMBER)
    published_before = len(platform.events.published)

    if role in allowed:
        assert await run(platform, actor.principal, target) is not None
    else:
        with pytest.raises(Forbidden):
            await run(platform, actor.principal, target)
        assert len(platform.events.published) == published_before
        assert await platform.user_store.get(acme.company.id, target.user.id) == target.user
