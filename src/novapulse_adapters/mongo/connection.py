"""One MongoDB database for the stores: the client, Beanie's binding, readiness and shutdown."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from beanie import init_beanie
from pymongo import AsyncMongoClient

from novapulse_adapters.mongo.documents import DOCUMENT_MODELS
from novapulse_adapters.mongo.errors import UNREACHABLE
from novapulse_core.domain.errors import Unavailable

__all__ = ["DEFAULT_SERVER_SELECTION_TIMEOUT_MS", "ClientLike", "MongoConnection"]

DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 2000
BIND_RETRY_MAX_SECONDS = 30.0

log = logging.getLogger(__name__)


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
        self._bound = False
        self._binding: asyncio.Task[None] | None = None

    @property
    def database(self) -> Any:
        """The bound database (after `open()`), e.g. for a test to drop it."""
        if self._database is None:
            raise RuntimeError("the MongoDB connection is not open")
        return self._database

    async def open(self, *, retry_in_background: bool = True) -> None:
        """Create the client if needed, bind the documents and create their indexes.

        A server that cannot be reached does not stop the process: operations fail
        `Unavailable` and readiness stays false until a background retry binds the documents
        (Beanie needs the server for that) as soon as it answers. A one-off command passes
        `retry_in_background=False` and gets `Unavailable` at once instead.
        """
        client = self._given_client or self._own_client
        if client is None:
            client = self._own_client = AsyncMongoClient(
                self._url, tz_aware=True, serverSelectionTimeoutMS=self._timeout_ms
            )
        self._database = client.get_database(self._database_name)
        try:
            await self._bind()
        except UNREACHABLE as error:
            if not retry_in_background:
                raise Unavailable("MongoDB cannot be reached") from error
            log.error("MongoDB cannot be reached; serving without it until it answers")
            self._binding = asyncio.create_task(self._bind_when_reachable())

    async def _bind(self) -> None:
        await init_beanie(database=self._database, document_models=list(DOCUMENT_MODELS))
        self._bound = True

    async def _bind_when_reachable(self) -> None:
        delay = 0.5
        while not self._bound:
            await asyncio.sleep(delay)
            try:
                await self._bind()
            except UNREACHABLE:
                delay = min(delay * 2, BIND_RETRY_MAX_SECONDS)
            except Exception:
                # Reachable but refusing (authentication, an index conflict): say so, keep trying.
                log.exception("MongoDB answered but the documents could not be bound")
                delay = BIND_RETRY_MAX_SECONDS
        log.info("MongoDB reachable again; documents bound and indexes in place")

    async def ping(self) -> bool:
        """True when the database answers a ping in time; never raises (readiness probe)."""
        if self._database is None or not self._bound:
            return False
        try:
            async with asyncio.timeout(self._timeout_ms / 1000):
                await self._database.command("ping")
        except Exception:
            return False
        return True

    async def close(self) -> None:
        """Forget the database; close the client if this connection created it."""
        if self._binding is not None:
            self._binding.cancel()
            self._binding = None
        self._database = None
        client, self._own_client = self._own_client, None
        if client is not None:
            await client.close()

    async def __aenter__(self) -> MongoConnection:
        await self.open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()
