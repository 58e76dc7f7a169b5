"""One MongoDB database for the stores: the client, Beanie's binding, readiness and shutdown."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from beanie import init_beanie
from pymongo import AsyncMongoClient

from novapulse_adapters.mongo.documents import DOCUMENT_MODELS
from novapulse_adapters.mongo.errors import UNREACHABLE
from novapulse_core.domain.errors import Unavailable

__all__ = ["DEFAULT_SERVER_SELECTION_TIMEOUT_MS", "ClientLike", "MongoConnection"]

DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 2000


class ClientLike(Protocol):
    """What the connection needs of a client: `pymongo.AsyncMongoClient`, or a test stand-in."""

    def get_database(self, name: str) -> Any: ...


class MongoConnection:
    """Opens a client (or takes a built one), binds the Beanie documents to one database.

    Nothing connects in the constructor. `open()` runs `init_beanie`, which binds the document
    classes for the whole process: the stores then work on this connection's database, so a
    process uses one open connection at a time. `close()` closes only a client it created.
    """

    def __init__(
        self,
        url: str | None = None,
        database: str = "novapulse",
        *,
        client: ClientLike | None = None,
        server_selection_timeout_ms: int = DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
    ) -> None:
        if (url is None) == (client is None):
            raise ValueError("give MongoConnection either a url or a client")
        self._url = url
        self._given_client = client
        self._own_client: AsyncMongoClient[dict[str, Any]] | None = None
        self._database_name = database
        self._timeout_ms = server_selection_timeout_ms
        self._database: Any = None

    @property
    def database(self) -> Any:
        """The bound database (after `open()`), e.g. for a test to drop it."""
        if self._database is None:
            raise RuntimeError("the MongoDB connection is not open")
        return self._database

    async def open(self) -> None:
        """Create the client if needed, bind the documents and create their indexes."""
        client = self._given_client or self._own_client
        if client is None:
            client = self._own_client = AsyncMongoClient(
                self._url, tz_aware=True, serverSelectionTimeoutMS=self._timeout_ms
            )
        database = client.get_database(self._database_name)
        try:
            await init_beanie(database=database, document_models=list(DOCUMENT_MODELS))
        except UNREACHABLE as error:
            raise Unavailable("the database cannot be reached; it was not initialised") from error
        self._database = database

    async def ping(self) -> bool:
        """True when the database answers a ping in time; never raises (readiness probe)."""
        if self._database is None:
            return False
        try:
            async with asyncio.timeout(self._timeout_ms / 1000):
                await self._database.command("ping")
        except Exception:
            return False
        return True

    async def close(self) -> None:
        """Forget the database; close the client if this connection created it."""
        self._database = None
        client, self._own_client = self._own_client, None
        if client is not None:
            await client.close()

    async def __aenter__(self) -> MongoConnection:
        await self.open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()
