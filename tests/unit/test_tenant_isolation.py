"""Company A can never read or change company B's data, whatever ids its calls carry."""

from __future__ import annotations

import asyncio
import itertools
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

EVERYTHING = PageRequest(limit=200)
ROLES = list(Role)


@attrs.frozen
class Step:
    """One call made by company A's principal of role `actor`, with whatever ids were drawn."""

    operation: str
    actor: Role
    first: str
    second: str
    name: str
    role: Role


Call = Callable[[Platform, Principal, Step], Awaitable[object]]


@attrs.frozen
class Operation:
    call: Call
    must_be_ours: tuple[str, ...] = ()  # step ids that must be company A's for a success
    kinds: tuple[str, str] = ("any", "any")  # what the step's ids are mostly drawn from


OPERATIONS: dict[str, Operation] = {
    "get user": Operation(lambda p, a, s: p.users.get(a, s.first), ("first",), ("user", "any")),
    "update profile": Operation(
        lambda p, a, s: p.users.update_profile(a, s.first, name=s.name),
        ("first",),
        ("user", "any"),
    ),
    "change role": Operation(
        lambda p, a, s: p.users.change_role(a, s.first, s.role), ("first",), ("user", "any")
    ),
    "deactivate": Operation(
        lambda p, a, s: p.users.deactivate(a, s.first), ("first",), ("user", "any")
    ),
    "reactivate": Operation(
        lambda p, a, s: p.users.reactivate(a, s.first), ("first",), ("user", "any")
    ),
    "members by ids": Operation(
        lambda p, a, s: p.users.members(a, [s.first, s.second]), (), ("user", "user")
    ),
    "list users": Operation(
        lambda p, a, s: p.users.list(a, PageRequest(limit=3, after=s.first), role=s.role)
    ),
    "get department": Operation(
        lambda p, a, s: p.departments.get(a, s.first), ("first",), ("department", "any")
    ),
    "update department": Operation(
        lambda p, a, s: p.departments.update(a, s.first, name=s.name),
        ("first",),
        ("department", "any"),
    ),
    "delete department": Operation(
        lambda p, a, s: p.departments.delete(a, s.first), ("first",), ("department", "any")
    ),
    "add member": Operation(
        lambda p, a, s: p.departments.add_member(a, s.first, s.second),
        ("first", "second"),
        ("department", "user"),
    ),
    "remove member": Operation(
        lambda p, a, s: p.departments.remove_member(a, s.first, s.second),
        ("first", "second"),
        ("department", "user"),
    ),
    "department members": Operation(
        lambda p, a, s: p.departments.members(a, s.first, PageRequest(limit=2, after=s.second)),
        ("first",),
        ("department", "user"),
    ),
    "list departments": Operation(
        lambda p, a, s: p.departments.list(a, PageRequest(limit=1, after=s.first))
    ),
    "create department": Operation(lambda p, a, s: p.departments.create(a, name=s.name)),
    "read company": Operation(lambda p, a, s: p.companies.get(a)),
    "rename company": Operation(lambda p, a, s: p.companies.rename(a, s.name)),
    "read stats": Operation(lambda p, a, s: p.stats.company_stats(a)),
}


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


async def ids_by_kind(platform: Platform, company_id: str) -> dict[str, list[str]]:
    """The ids of the company's users, of its departments, and of all its records."""
    users = [u.id for u in await platform.user_store.list(company_id, EVERYTHING)]
    departments = [d.id for d in await platform.department_store.list(company_id, EVERYTHING)]
    return {
        "user": users,
        "department": departments,
        "any": [company_id, *users, *departments],
    }


async def snapshot(platform: Platform, company_id: str) -> tuple[object, ...]:
    return (
        await platform.company_store.get(company_id),
        tuple(await platform.user_store.list(company_id, EVERYTHING)),
        tuple(await platform.department_store.list(company_id, EVERYTHING)),
        await platform.stats.compute(company_id),
    )


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


async def play(world: World, steps: list[Step]) -> None:
    platform, a_id, b_id = world.platform, world.a.company.id, world.b.company.id
    b_before = await snapshot(platform, b_id)
    published_before = len(platform.events.published)

    for step in steps:
        operation = OPERATIONS[step.operation]
        ours = set((await ids_by_kind(platform, a_id))["any"])
        foreign = any(getattr(step, field) not in ours for field in operation.must_be_ours)
        try:
            result = await operation.call(platform, world.actors[step.actor], step)
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


def steps_over(ours: dict[str, list[str]], theirs: dict[str, list[str]]) -> st.SearchStrategy[Step]:
    """Steps carrying A's or B's real ids of the kind the call expects, any real id, or junk."""

    def ids(kind: str) -> st.SearchStrategy[str]:
        return st.one_of(
            st.sampled_from(ours[kind]),
            st.sampled_from(theirs[kind]),
            st.sampled_from(ours["any"] + theirs["any"]) | st.text(max_size=10),
        )

    def step(name: str) -> st.SearchStrategy[Step]:
        first, second = OPERATIONS[name].kinds
        return st.builds(
            Step,
            operation=st.just(name),
            actor=st.sampled_from(Role),
            first=ids(first),
            second=ids(second),
            name=st.sampled_from(["Engineering", "Sales", "Globex", "Research"]),
            role=st.sampled_from(Role),
        )

    return st.sampled_from(sorted(OPERATIONS)).flatmap(step)


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_a_principal_of_company_a_never_sees_or_changes_company_b(
    make_platform: Callable[[], Platform], data: st.DataObject
) -> None:
    world = asyncio.run(build_world(make_platform()))
    ours = asyncio.run(ids_by_kind(world.platform, world.a.company.id))
    theirs = asyncio.run(ids_by_kind(world.platform, world.b.company.id))

    steps = data.draw(st.lists(steps_over(ours, theirs), min_size=5, max_size=30), label="steps")

    asyncio.run(play(world, steps))


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_every_role_calling_with_any_pair_of_real_ids_stays_inside_company_a(
    make_platform: Callable[[], Platform], operation: str
) -> None:
    """The exhaustive counterpart of the property: every id pair, foreign ones first."""
    for actor in Role:
        world = await build_world(make_platform())
        ours = (await ids_by_kind(world.platform, world.a.company.id))["any"]
        theirs = (await ids_by_kind(world.platform, world.b.company.id))["any"]
        candidates = [*ours, *theirs, "", "no-such-id"]
        steps = [
            Step(operation, actor, first, second, "Research", ROLES[index % len(ROLES)])
            for index, (first, second) in enumerate(itertools.product(candidates, repeat=2))
        ]
        needed = OPERATIONS[operation].must_be_ours
        steps.sort(key=lambda step: all(getattr(step, field) in ours for field in needed))

        await play(world, steps)


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
    p.users = UserService(
        leaky,  # type: ignore[arg-type]
        p.company_store,
        p.hasher,
        p.ids,
        p.clock,
        p.announcer,
    )
    step = Step("get user", Role.OWNER, world.b.owner.user.id, "", "Sales", Role.OWNER)

    with pytest.raises(AssertionError, match="outside company A"):
        asyncio.run(play(world, [step]))
