"""The demo company that `novapulse serve --demo` seeds so a newcomer can try the API at once."""

from __future__ import annotations

import asyncio
import logging

from novapulse_core.domain.errors import Conflict, Unavailable
from novapulse_entrypoints.container import Container

DEMO_COMPANY = "Demo Company"
DEMO_EMAIL = "owner@demo.example"
DEMO_NAME = "Demo Owner"
SEED_RETRY_SECONDS = 2.0

log = logging.getLogger("novapulse")


async def seed_demo(
    container: Container, password: str, *, retry_seconds: float = SEED_RETRY_SECONDS
) -> asyncio.Task[None] | None:
    """Create the demo company and owner unless the owner's email is already taken.

    When the store cannot be reached (MongoDB down at start-up), the API serves anyway, as it
    does without `--demo`: the seeding goes on in a task that tries again every
    `retry_seconds` until the store answers, and that task is returned (cancel it on
    shutdown)."""
    if await _seeded(container, password):
        return None
    return asyncio.create_task(_seed_later(container, password, retry_seconds))


async def _seed_later(container: Container, password: str, retry_seconds: float) -> None:
    while True:
        await asyncio.sleep(retry_seconds)
        if await _seeded(container, password, quiet=True):
            return


async def _seeded(container: Container, password: str, *, quiet: bool = False) -> bool:
    """Whether the demo owner exists now (False: the store could not be reached)."""
    try:
        registration = await container.companies().register(
            company_name=DEMO_COMPANY,
            owner_email=DEMO_EMAIL,
            owner_name=DEMO_NAME,
            owner_password=password,
        )
    except Conflict:
        log.info("demo owner exists already; left as it is", extra={"email": DEMO_EMAIL})
        return True
    except Unavailable as error:
        if not quiet:
            log.warning("demo company not seeded yet: %s; trying again until it answers", error)
        return False
    log.info(
        "demo company seeded",
        extra={"company_id": registration.company.id, "email": DEMO_EMAIL},
    )
    return True
