"""Companies: sign-up with a first owner, reading, renaming and the MFA requirement."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from novapulse_core.domain import events
from novapulse_core.domain.access import Permission, Principal, authorize
from novapulse_core.domain.identity import (
    Company,
    Role,
    User,
    check_password_strength,
    clean_name,
    normalise_email,
)
from novapulse_core.ports import Clock, CompanyStore, IdGenerator, PasswordHasher, UserStore
from novapulse_core.services.announcer import Announcer
from novapulse_core.services.offload import off_loop


@attrs.frozen
class Registration:
    company: Company
    owner: User


class CompanyService:
    def __init__(
        self,
        companies: CompanyStore,
        users: UserStore,
        hasher: PasswordHasher,
        ids: IdGenerator,
        clock: Clock,
        announcer: Announcer,
    ) -> None:
        self._companies = companies
        self._users = users
        self._hasher = hasher
        self._ids = ids
        self._clock = clock
        self._announcer = announcer

    async def register(
        self, *, company_name: str, owner_email: str, owner_name: str, owner_password: str
    ) -> Registration:
        """Create a company and its first owner. The owner's email must be free system-wide."""
        name = clean_name(company_name, field="company_name")
        email = normalise_email(owner_email)
        person = clean_name(owner_name, field="owner_name")
        check_password_strength(owner_password)
        now = self._clock.now()
        company = Company(id=self._ids.new_id(), name=name, created_at=now, updated_at=now)
        owner = User(
            id=self._ids.new_id(),
            company_id=company.id,
            email=email,
            name=person,
            role=Role.OWNER,
            password_hash=await off_loop(self._hasher.hash, owner_password),
            created_at=now,
            updated_at=now,
        )
        # The owner goes first: a taken email then leaves no orphan company behind.
        await self._users.add(owner)
        await self._companies.add(company)
        await self._announcer.announce(events.COMPANY_CREATED, company.id, name=company.name)
        await self._announcer.announce(
            events.USER_CREATED, company.id, user_id=owner.id, email=email, role=owner.role.value
        )
        return Registration(company=company, owner=owner)

    async def get(self, actor: Principal) -> Company:
        authorize(actor, Permission.READ_COMPANY)
        return await self._companies.get(actor.company_id)

    async def rename(self, actor: Principal, name: str) -> Company:
        authorize(actor, Permission.UPDATE_COMPANY)
        current = await self._companies.get(actor.company_id)
        new_name = clean_name(name)
        if new_name == current.name:
            return current
        changed = await self._save(current, name=new_name)
        await self._announcer.announce(events.COMPANY_UPDATED, changed.id, name=changed.name)
        return changed

    async def require_mfa_for(self, actor: Principal, roles: Iterable[Role]) -> Company:
        """Set the roles whose users must set up MFA before getting full access (none: off).

        It applies from each such user's next login; sessions already open are left alone.
        """
        authorize(actor, Permission.UPDATE_COMPANY)
        current = await self._companies.get(actor.company_id)
        wanted = frozenset(roles)
        if wanted == current.mfa_required_roles:
            return current
        changed = await self._save(current, mfa_required_roles=wanted)
        await self._announcer.announce(
            events.COMPANY_UPDATED,
            changed.id,
            name=changed.name,
            mfa_required_roles=sorted(role.value for role in wanted),
        )
        return changed

    async def _save(self, current: Company, **changes: Any) -> Company:
        """Store the changed company under the optimistic version rule."""
        changed = attrs.evolve(
            current, **changes, updated_at=self._clock.now(), version=current.version + 1
        )
        await self._companies.update(changed)
        return changed
