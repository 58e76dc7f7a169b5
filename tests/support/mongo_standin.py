"""An in-process MongoDB for Beanie 2: mongomock-motor with small fixes, no patching."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from mongomock.collection import BulkOperationBuilder, BulkWriteResult
from mongomock_motor import (
    AsyncLatentCommandCursor,
    AsyncMongoMockClient,
    AsyncMongoMockCollection,
    AsyncMongoMockDatabase,
)

__all__ = [
    "TEST_MONGO_URL_ENV",
    "StandInClient",
    "describe_mongo_target",
    "mongo_url_for_tests",
    "new_standin_client",
    "redacted_url",
]

TEST_MONGO_URL_ENV = "NOVAPULSE_TEST_MONGO_URL"
"""Set it to a MongoDB URL to run the mongo contract tests on a real server."""


class _SortlessBulk:
    """mongomock's bulk builder predates the `sort` pymongo 4.11 passes for UpdateOne."""

    def __init__(self, bulk: BulkOperationBuilder) -> None:
        self._bulk = bulk

    def add_update(self, *args: Any, sort: Any = None, **kwargs: Any) -> None:
        if sort is not None:
            raise NotImplementedError("the stand-in cannot sort the target of an update")
        self._bulk.add_update(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bulk, name)


class StandInCollection(AsyncMongoMockCollection):
    """Beanie 2 awaits `aggregate` (as pymongo's async API does); motor returned a cursor.
    `with_options` keeps the stand-in's asynchronous collection (mongomock's is synchronous).
    `bulk_write` runs on mongomock's builder, accepting pymongo 4.11+ operations."""

    async def aggregate(self, *args: Any, **kwargs: Any) -> AsyncLatentCommandCursor:
        return super().aggregate(*args, **kwargs)

    def with_options(self, **options: Any) -> StandInCollection:
        """pymongo's: the same collection read (or written) with other options."""
        plain = self.database.delegate.get_collection(self.name)
        return StandInCollection(self.database, plain.with_options(**options))

    async def bulk_write(self, requests: Any, ordered: bool = True, **_: Any) -> Any:
        bulk = BulkOperationBuilder(self.database.delegate.get_collection(self.name), ordered)
        for request in requests:
            request._add_to_bulk(_SortlessBulk(bulk))
        return BulkWriteResult(bulk.execute(), True)


class StandInDatabase(AsyncMongoMockDatabase):
    """Accepts the keyword arguments Beanie 2 passes and hands out `StandInCollection`s."""

    async def list_collection_names(
        self, filter: Any = None, session: Any = None, **_: Any
    ) -> list[str]:
        names: list[str] = self.delegate.list_collection_names(filter=filter, session=session)
        return names

    def get_collection(self, *args: Any, **kwargs: Any) -> StandInCollection:
        return StandInCollection(self, self.delegate.get_collection(*args, **kwargs))


class StandInClient(AsyncMongoMockClient):
    """A mongomock-motor client whose databases are `StandInDatabase`s."""

    def get_database(self, *args: Any, **kwargs: Any) -> StandInDatabase:
        plain = super().get_database(*args, **kwargs)
        return StandInDatabase(self, plain.delegate)


def new_standin_client() -> StandInClient:
    """A fresh client with empty databases, returning timezone-aware datetimes like ours."""
    return StandInClient(tz_aware=True)


def mongo_url_for_tests() -> str | None:
    """The real MongoDB the tests should use, or None for the stand-in."""
    return os.environ.get(TEST_MONGO_URL_ENV) or None


def redacted_url(url: str) -> str:
    """The URL without user, password or query options (which may carry secrets)."""
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{hosts}{parts.path}"


def describe_mongo_target() -> str:
    """One line saying where the mongo contract tests run, for pytest's report header."""
    url = mongo_url_for_tests()
    if url is None:
        return f"mongo contract tests: in-process mongomock stand-in ({TEST_MONGO_URL_ENV} not set)"
    return f"mongo contract tests: real MongoDB at {redacted_url(url)}"
