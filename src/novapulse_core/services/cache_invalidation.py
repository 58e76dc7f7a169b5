"""Keeping the seed's cache entries true: invalidation on domain events, and manual clears."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from novapulse_core.domain import events
from novapulse_core.domain.access import Permission, Principal, authorize
from novapulse_core.domain.cache import CacheKeys
from novapulse_core.domain.errors import Unavailable
from novapulse_core.domain.events import DomainEvent
from novapulse_core.domain.identity import Department
from novapulse_core.domain.paging import MAX_PAGE_SIZE, PageRequest, page_from
from novapulse_core.ports import DepartmentStore, UserStore
from novapulse_core.services.cache import CacheAside

log = logging.getLogger(__name__)

_STATS_EVENTS = frozenset(
    {
        events.COMPANY_UPDATED,
        events.USER_CREATED,
        events.USER_ROLE_CHANGED,
        events.USER_DEACTIVATED,
        events.USER_REACTIVATED,
        events.DEPARTMENT_CREATED,
        events.DEPARTMENT_UPDATED,
        events.DEPARTMENT_DELETED,
        events.DEPARTMENT_MEMBER_ADDED,
        events.DEPARTMENT_MEMBER_REMOVED,
    }
)
_PROFILE_EVENTS = frozenset(
    {
        events.USER_CREATED,
        events.USER_UPDATED,
        events.USER_ROLE_CHANGED,
        events.USER_DEACTIVATED,
        events.USER_REACTIVATED,
        events.USER_PASSWORD_CHANGED,  # the profile's version and updated_at moved
    }
)
_MEMBERSHIP_EVENTS = frozenset(
    {events.DEPARTMENT_DELETED, events.DEPARTMENT_MEMBER_ADDED, events.DEPARTMENT_MEMBER_REMOVED}
)


async def _all_departments(store: DepartmentStore, company_id: str) -> AsyncIterator[Department]:
    request = PageRequest(limit=MAX_PAGE_SIZE)
    while True:
        page = page_from(await store.list(company_id, request), request)
        for department in page.items:
            yield department
        if page.next_after is None:
            return
        request = PageRequest(limit=MAX_PAGE_SIZE, after=page.next_after)


class CacheInvalidation:
    """Subscriber: deletes the entries a domain event makes wrong.

    Stats on every change of users' roles or activity and of departments (and `company.updated`);
    a user's profile on every change of that user; a department's member list when its members
    change or it is deleted, and every member list holding a user whose profile changed (the
    lists carry members' profiles; found by listing the company's departments). A cache that
    cannot be reached is counted in `failed` and logged, never raised: the entries then live
    out their TTL (60 s and 5 min), the seed's bound on staleness.
    """

    def __init__(self, aside: CacheAside, keys: CacheKeys, departments: DepartmentStore) -> None:
        self._aside = aside
        self._keys = keys
        self._departments = departments
        self.failed = 0

    async def __call__(self, event: DomainEvent) -> None:
        try:
            keys = await self.affected(event)
            if keys:
                await self._aside.invalidate(keys)
        except Unavailable:
            self.failed += 1
            log.warning("cache invalidation skipped (%s): unavailable", event.type)

    async def affected(self, event: DomainEvent) -> list[str]:
        """The keys `event` makes wrong."""
        keys: list[str] = []
        if event.type in _STATS_EVENTS:
            keys.append(self._keys.company_stats(event.company_id))
        if event.type in _MEMBERSHIP_EVENTS:
            keys.append(self._keys.department_members(str(event.data["department_id"])))
        if event.type in _PROFILE_EVENTS:
            user_id = str(event.data["user_id"])
            keys.append(self._keys.user_profile(user_id))
            if event.type != events.USER_CREATED:  # a new user is in no department yet
                async for department in _all_departments(self._departments, event.company_id):
                    if user_id in department.member_ids:
                        keys.append(self._keys.department_members(department.id))
        return keys


class CacheAdmin:
    """Manual clears: a company's entries (its admins), or every entry (operators, the CLI).

    Both raise `Unavailable` when the cache cannot be reached: a clear that did not happen is
    said so, never reported as done.
    """

    def __init__(
        self, aside: CacheAside, keys: CacheKeys, users: UserStore, departments: DepartmentStore
    ) -> None:
        self._aside = aside
        self._keys = keys
        self._users = users
        self._departments = departments

    async def clear_company(self, actor: Principal) -> int:
        """Deletes the caller's company's stats, its users' profiles and its departments'
        member lists; answers how many entries were cached."""
        authorize(actor, Permission.UPDATE_COMPANY)
        company_id = actor.company_id
        cleared = await self._aside.invalidate([self._keys.company_stats(company_id)])
        departments = [
            self._keys.department_members(d.id)
            async for d in _all_departments(self._departments, company_id)
        ]
        cleared += await self._aside.invalidate(departments)
        request = PageRequest(limit=MAX_PAGE_SIZE)
        while True:
            page = page_from(await self._users.list(company_id, request), request)
            cleared += await self._aside.invalidate(
                [self._keys.user_profile(u.id) for u in page.items]
            )
            if page.next_after is None:
                return cleared
            request = PageRequest(limit=MAX_PAGE_SIZE, after=page.next_after)

    async def clear_all(self) -> int:
        """Deletes every entry under the keys' prefix, in every company (an operator's act, no
        principal); answers how many were cached."""
        return await self._aside.invalidate_prefix(f"{self._keys.prefix}:")
