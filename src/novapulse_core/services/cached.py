"""Cached reads: the stats, profile and member-list services behind the seed's cache entries.

Each wraps the service it caches, with the same method signature, so the API swaps one for the
other. Keys carry no company id (the seed's), so every hit is checked against the caller's
company: another tenant's id answers "not found", as the store would. Concurrent misses on a
key share one computation, made as the first caller: a "not found" from it is checked again as
the caller, so another company asking for the same id at the same moment changes no answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import attrs

from novapulse_core.domain.access import Permission, Principal, authorize
from novapulse_core.domain.cache import (
    MEMBERS,
    MEMBERS_TTL,
    PROFILE,
    PROFILE_TTL,
    REDACTED,
    STATS,
    STATS_TTL,
    CacheKeys,
    Codec,
    MemberList,
)
from novapulse_core.domain.errors import NotFound
from novapulse_core.domain.identity import User
from novapulse_core.domain.paging import MAX_PAGE_SIZE, Page, PageRequest, page_from
from novapulse_core.domain.stats import CompanyStats
from novapulse_core.services.cache import CacheAside
from novapulse_core.services.departments import DepartmentService
from novapulse_core.services.stats import StatsService
from novapulse_core.services.users import UserService

T = TypeVar("T")


class CachedStats:
    """`StatsService` through `cache:company:{id}:stats` (60 s)."""

    def __init__(self, stats: StatsService, aside: CacheAside, keys: CacheKeys) -> None:
        self._stats = stats
        self._aside = aside
        self._keys = keys

    async def company_stats(self, actor: Principal) -> CompanyStats:
        authorize(actor, Permission.READ_STATS)
        return await self.compute(actor.company_id)

    async def compute(self, company_id: str) -> CompanyStats:
        return await self._aside.get_or_compute(
            self._keys.company_stats(company_id),
            STATS_TTL,
            lambda: self._stats.compute(company_id),
            STATS,
        )


class CachedProfiles:
    """`UserService.get` through `cache:user:{id}:profile` (5 min). The answer's
    `password_hash` is `domain.cache.REDACTED`, hit or miss: never authenticate with it."""

    def __init__(self, users: UserService, aside: CacheAside, keys: CacheKeys) -> None:
        self._users = users
        self._aside = aside
        self._keys = keys

    async def get(self, actor: Principal, user_id: str) -> User:
        authorize(actor, Permission.READ_USERS)
        user = await _read_as_caller(
            self._aside,
            self._keys.user_profile(user_id),
            PROFILE_TTL,
            lambda: self._load(actor, user_id),
            PROFILE,
        )
        if user.company_id != actor.company_id:
            raise NotFound("no such user")
        return user

    async def _load(self, actor: Principal, user_id: str) -> User:
        return _redacted(await self._users.get(actor, user_id))


class CachedMembers:
    """`DepartmentService.members` through `cache:department:{id}:members` (5 min): the whole
    list is cached, ordered by user id, and paged from the cache."""

    def __init__(self, departments: DepartmentService, aside: CacheAside, keys: CacheKeys) -> None:
        self._departments = departments
        self._aside = aside
        self._keys = keys

    async def members(self, actor: Principal, department_id: str, page: PageRequest) -> Page[User]:
        authorize(actor, Permission.READ_DEPARTMENTS)
        authorize(actor, Permission.READ_USERS)
        listed = await _read_as_caller(
            self._aside,
            self._keys.department_members(department_id),
            MEMBERS_TTL,
            lambda: self._load(actor, department_id),
            MEMBERS,
        )
        if listed.company_id != actor.company_id:
            raise NotFound("no such department")
        rows = [u for u in listed.members if page.after is None or u.id > page.after]
        return page_from(rows[: page.limit + 1], page)

    async def _load(self, actor: Principal, department_id: str) -> MemberList:
        members: list[User] = []
        request = PageRequest(limit=MAX_PAGE_SIZE)
        while True:
            page = await self._departments.members(actor, department_id, request)
            members.extend(_redacted(user) for user in page.items)
            if page.next_after is None:
                return MemberList(actor.company_id, department_id, tuple(members))
            request = PageRequest(limit=MAX_PAGE_SIZE, after=page.next_after)


async def _read_as_caller(
    aside: CacheAside,
    key: str,
    ttl: timedelta,
    load: Callable[[], Awaitable[T]],
    codec: Codec[T],
) -> T:
    """`aside.get_or_compute`, with a "not found" loaded again as this caller: the computation
    it came from may be another company's read of the key, running when this one came."""
    try:
        return await aside.get_or_compute(key, ttl, load, codec)
    except NotFound:
        return await load()


def _redacted(user: User) -> User:
    """The user as the cache holds it: with no password hash."""
    return attrs.evolve(user, password_hash=REDACTED)
