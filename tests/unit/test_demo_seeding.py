"""`serve --demo` seeds its company even when the store answers only later."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from novapulse_core.domain.errors import Conflict, Unavailable
from novapulse_entrypoints.container import Container
from novapulse_entrypoints.demo import DEMO_EMAIL, seed_demo


class Companies:
    """A company service whose store cannot be reached for its first `down` calls."""

    def __init__(self, down: int = 0, taken: bool = False) -> None:
        self.down, self.taken, self.calls = down, taken, 0
        self.owners: list[str] = []

    async def register(self, **fields: Any) -> Any:
        self.calls += 1
        if self.calls <= self.down:
            raise Unavailable("the database has not answered since start-up")
        if self.taken:
            raise Conflict("an account with this email exists")
        self.owners.append(fields["owner_email"])
        return SimpleNamespace(company=SimpleNamespace(id="co-1"))


def _container(companies: Companies) -> Container:
    return cast(Container, SimpleNamespace(companies=lambda: companies))


async def test_a_reachable_store_is_seeded_at_once() -> None:
    companies = Companies()

    assert await seed_demo(_container(companies), "pw") is None
    assert companies.owners == [DEMO_EMAIL]


async def test_an_existing_demo_owner_is_left_as_it_is() -> None:
    companies = Companies(taken=True)

    assert await seed_demo(_container(companies), "pw") is None
    assert companies.owners == []


async def test_a_store_that_answers_only_later_is_seeded_then_and_nothing_fails() -> None:
    companies = Companies(down=3)

    seeding = await seed_demo(_container(companies), "pw", retry_seconds=0.01)

    assert seeding is not None
    await asyncio.wait_for(seeding, 5)
    assert (companies.calls, companies.owners) == (4, [DEMO_EMAIL])


async def test_seeding_that_waits_ends_when_cancelled_at_shutdown() -> None:
    seeding = await seed_demo(_container(Companies(down=10**6)), "pw", retry_seconds=0.01)
    assert seeding is not None

    seeding.cancel()

    await asyncio.wait({seeding}, timeout=1)
    assert seeding.cancelled()
