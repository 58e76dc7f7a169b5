"""The demo company that `novapulse serve --demo` seeds so a newcomer can try the API at once."""

from __future__ import annotations

import logging

from novapulse_core.domain.errors import Conflict
from novapulse_entrypoints.container import Container

DEMO_COMPANY = "Demo Company"
DEMO_EMAIL = "owner@demo.example"
DEMO_NAME = "Demo Owner"

log = logging.getLogger("novapulse")


async def seed_demo(container: Container, password: str) -> None:
    """Create the demo company and owner unless the owner's email is already taken."""
    try:
        registration = await container.companies().register(
            company_name=DEMO_COMPANY,
            owner_email=DEMO_EMAIL,
            owner_name=DEMO_NAME,
            owner_password=password,
        )
    except Conflict:
        log.info("demo owner exists already; left as it is", extra={"email": DEMO_EMAIL})
        return
    log.info(
        "demo company seeded",
        extra={"company_id": registration.company.id, "email": DEMO_EMAIL},
    )
