"""Company A can never read or change company B's data, whatever ids its calls carry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from novapulse_adapters.memory import InMemoryUserStore
from novapulse_core.domain.access import Principal
from novapulse_core.domain.errors import Conflict, Forbidden, NotFound
from novapulse_core.domain.identity import Company, Department, Role, User
from novapulse_core.domain.paging import Page, PageRequest
from novapulse_core.domain.stats import CompanyStats
from novapulse_core.services import UserService

from .kit import Platform, Tenant


@attrs.frozen
class Step:
    operation: str
    first: str
    second: str
    name: str
    role: Role


@attrs.frozen
class World:
    platform: Platform
    a: Tenant
    b: Tenant
    actors: dict[Role, Principal]


async def _populate(platform: Platform, tenant: Tenant) -> dict[Role, Principal]:
    owner = tenant.owner.principal
    admin, manager, member, leaver = [
        await platform.add_user(tenant, role)
        for role in (Role.ADMIN, Role.MANAGER, Role.MEMBER, Role.MEMBER)
    ]
    await platform.users.deactivate(owner, leaver.user.id)
    engineering = await platform.departments.create(owner, name="Engineering")
    await platform.departments.create(owner, name="Sales")
    for person in (manager, member):
        await platform.departments.add_member(owner, engineering.id, person.user.id)
    return {
        Role.OWNER: owner,
        Role.ADMIN: admin.principal,
        Role.MANAGER: manager.principal,
        Role.MEMBER: member.principal,
    }


async def build_world(platform: Platform) -> World:
    a = await platform.register("Acme")
    b = await platform.register("Globex")
    actors = await _populate(platform, a)
    await _populate(platform, b)
    return World(platform, a, b, actors)


async def record_ids(platform: Platform, company_id: str) -> set[str]:
    """The ids of the company and of every user and department it holds right now."""
    everything = PageRequest(limit=200)
    users = await platform.user_store.list(company_id, everything)
    departments = await platform.department_store.list(company_id, everything)
    return {company_id, *(u.id for u in users), *(d.id for d in departments)}


async def snapshot(platform: Platform, company_id: str) -> tuple[object, ...]:
    everything = PageRequest(limit=200)
    return (
        await platform.company_store.get(company_id),
        tuple(await platform.user_store.list(company_id, everything)),
        tuple(await platform.department_store.list(company_id, everything)),
        await platform.stats.compute(company_id),
    )


Call = Callable[[Platform, Principal, Step], Awaitable[object]]

# operation -> (the call, which of the step's ids must be company A's for it to succeed)
OPERATIONS: dict[str, tuple[Call, tuple[str, ...]]] = {
    "get user": (lambda p, a, s: p.users.get(a, s.first), ("first",)),
    "update profile": (
        lambda p, a, s: p.users.update_profile(a, s.first, name=s.name),
        ("first",),
    ),
    "change role": (lambda p, a, s: p.users.change_role(a, s.first, s.role), ("first",)),
    "deactivate": (lambda p, a, s: p.users.deactivate(a, s.first), ("first",)),
    "reactivate": (lambda p, a, s: p.users.reactivate(a, s.first), ("first",)),
    "members by ids": (lambda p, a, s: p.users.members(a, [s.first, s.second]), ()),
    "list users": (
        lambda p, a, s: p.users.list(a, PageRequest(limit=3, after=s.first), role=s.role),
        (),
    ),
    "get department": (lambda p, a, s: p.departments.get(a, s.first), ("first",)),
    "update department": (
        lambda p, a, s: p.departments.update(a, s.first, name=s.name),
        ("first",),
    ),
    "delete department": (lambda p, a, s: p.departments.delete(a, s.first), ("first",)),
    "add member": (
        lambda p, a, s: p.departments.add_member(a, s.first, s.second),
        ("first", "second"),
    ),
    "remove member": (
        lambda p, a, s: p.departments.remove_member(a, s.first, s.second),
        ("first", "second"),
    ),
    "department members": (
        lambda p, a, s: p.departments.members(a, s.first, PageRequest(limit=3, after=s.second)),
        ("first",),
    ),
    "list departments": (
        lambda p, a, s: p.departments.list(a, PageRequest(limit=3, after=s.first)),
        (),
    ),
    "create department": (lambda p, a, s: p.departments.create(a, name=s.name), ()),
    "read company": (lambda p, a, s: p.companies.get(a), ()),
    "rename company": (lambda p, a, s: p.companies.rename(a, s.name), ()),
    "read stats": (lambda p, a, s: p.stats.company_stats(a), ()),
}


def companies_in(result: object) -> set[str]:
    """Every company whose data `result` carries."""
    match result:
        case None:
            return set()
        case User() | Department() | CompanyStats():
            return {result.company_id}
        case Company():
            return {result.id}
        case Page():
            return companies_in(list(result.items))
        case list() | tuple():
            return set().union(*(companies_in(item) for item in result))
    raise AssertionError(f"unexpected result {result!r}")


async def play(world: World, actor_role: Role, steps: list[Step]) -> None:
    platform, a_id, b_id = world.platform, world.a.company.id, world.b.company.id
    actor = world.actors[actor_role]
    b_before = await snapshot(platform, b_id)
    published_before = len(platform.events.published)

    for step in steps:
        call, targets = OPERATIONS[step.operation]
        a_ids = await record_ids(platform, a_id)
        foreign = any(getattr(step, target) not in a_ids for target in targets)
        try:
            result = await call(platform, actor, step)
        except (NotFound, Forbidden):
            continue
        except Conflict:
            assert not foreign, f"{step}: a foreign id must be not found, not a conflict"
            continue
        assert not foreign, f"{step}: succeeded on an id outside company A"
        assert companies_in(result) <= {a_id}, f"{step}: returned another company's data"

    assert await snapshot(platform, b_id) == b_before
    later_events = list(platform.events.published)[published_before:]
    assert {event.company_id for event in later_events} <= {a_id}


names = st.sampled_from(["Engineering", "Sales", "Globex", "Research", "Acme"])


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_a_principal_of_company_a_never_sees_or_changes_company_b(
    make_platform: Callable[[], Platform], data: st.DataObject
) -> None:
    world = asyncio.run(build_world(make_platform()))
    platform = world.platform
    a_ids = sorted(asyncio.run(record_ids(platform, world.a.company.id)))
    b_ids = sorted(asyncio.run(record_ids(platform, world.b.company.id)))
    ids = st.one_of(st.sampled_from(a_ids), st.sampled_from(b_ids), st.text(max_size=10))
    steps = st.builds(
        Step, st.sampled_from(sorted(OPERATIONS)), ids, ids, names, st.sampled_from(Role)
    )

    actor_role = data.draw(st.sampled_from(Role), label="actor role")
    drawn = data.draw(st.lists(steps, min_size=1, max_size=12), label="steps")

    asyncio.run(play(world, actor_role, drawn))


class LeakyUserStore:
    """A deliberately broken store that falls back to another company's users."""

    def __init__(self, inner: InMemoryUserStore, other_company_id: str) -> None:
        self._inner = inner
        self._other = other_company_id

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def get(self, company_id: str, user_id: str) -> User:
        try:
            return await self._inner.get(company_id, user_id)
        except NotFound:
            return await self._inner.get(self._other, user_id)


def test_the_property_catches_a_store_that_leaks_across_companies(
    make_platform: Callable[[], Platform],
) -> None:
    world = asyncio.run(build_world(make_platform()))
    p = world.platform
    leaky = LeakyUserStore(p.user_store, world.b.company.id)
    p.users = UserService(leaky, p.hasher, p.ids, p.clock, p.announcer)  # type: ignore[arg-type]
    step = Step("get user", world.b.owner.user.id, "", "Sales", Role.OWNER)

    with pytest.raises(AssertionError, match="outside company A"):
        asyncio.run(play(world, Role.OWNER, [step]))
