"""Run the core on its memory adapters in an environment holding only the base install.

Proves that another service can embed `novapulse_core` without any infrastructure library.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib.util
import sys

from novapulse_adapters.memory import (
    FrozenClock,
    InMemoryCompanyStore,
    InMemoryEventBus,
    InMemoryUserStore,
    SequentialIds,
)
from novapulse_core.services import CompanyService
from novapulse_core.services.announcer import Announcer

INFRASTRUCTURE = (
    "litestar",
    "beanie",
    "pymongo",
    "redis",
    "dramatiq",
    "jwt",
    "argon2",
    "httpx",
    "pyotp",
    "cryptography",
)


class DigestHasher:
    """A stand-in for a real hasher: an embedding service brings its own."""

    def hash(self, password: str) -> str:
        return hashlib.sha256(password.encode()).hexdigest()

    def verify(self, password_hash: str, password: str) -> bool:
        return hmac.compare_digest(password_hash, self.hash(password))

    def needs_rehash(self, password_hash: str) -> bool:
        return False


async def main() -> None:
    clock, ids, bus = FrozenClock(), SequentialIds(), InMemoryEventBus()
    service = CompanyService(
        InMemoryCompanyStore(),
        InMemoryUserStore(),
        DigestHasher(),
        ids,
        clock,
        Announcer(bus, ids, clock),
    )
    registration = await service.register(
        company_name="Embedded Ltd",
        owner_email="owner@embedded.example",
        owner_name="Owner",
        owner_password="long enough password",
    )
    assert registration.owner.company_id == registration.company.id
    assert bus.types() == ["company.created", "user.created"]


if __name__ == "__main__":
    installed = [name for name in INFRASTRUCTURE if importlib.util.find_spec(name) is not None]
    if installed:
        sys.exit(f"core_only: the base install pulled in {', '.join(installed)}")
    asyncio.run(main())
    loaded = [name for name in INFRASTRUCTURE if name in sys.modules]
    if loaded:
        sys.exit(f"core_only: importing the core loaded {', '.join(loaded)}")
    print("core_only: the core runs on the base install alone")
