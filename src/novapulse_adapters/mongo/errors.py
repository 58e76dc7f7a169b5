"""The edge where pymongo's exceptions become the core's `Conflict` and `Unavailable`."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from beanie.exceptions import CollectionWasNotInitialized
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    DuplicateKeyError,
    NetworkTimeout,
    ServerSelectionTimeoutError,
)

from novapulse_core.domain.errors import Conflict, Unavailable

__all__ = ["UNREACHABLE", "DuplicateRule", "translated"]

UNREACHABLE: tuple[type[Exception], ...] = (
    ConnectionFailure,
    ServerSelectionTimeoutError,
    NetworkTimeout,
    AutoReconnect,
)
"""pymongo errors meaning the server could not be reached in time (the driver reconnects)."""

DuplicateRule = tuple[str, str | None]
"""What a duplicate key means to a caller: (the conflict's detail, the field it names or None)."""

_INDEX_IN_MESSAGE = re.compile(r"index: (\S+)")


def _duplicated_keys(error: DuplicateKeyError, index_keys: Mapping[str, str]) -> set[str]:
    """The fields of the unique index that refused the write (`_id` when nothing says)."""
    details = error.details or {}
    pattern = details.get("keyPattern")
    if isinstance(pattern, Mapping) and pattern:
        return {str(key) for key in pattern}
    match = _INDEX_IN_MESSAGE.search(str(error))
    if match and match.group(1) in index_keys:
        return {index_keys[match.group(1)]}
    return {"_id"}


def conflict_for(
    error: DuplicateKeyError,
    rules: Mapping[str, DuplicateRule],
    index_keys: Mapping[str, str],
) -> Conflict:
    """Pick the rule of the first duplicated key that has one; `_id` is the fallback rule."""
    keys = _duplicated_keys(error, index_keys)
    detail, field = next((rules[key] for key in sorted(keys) if key in rules), rules["_id"])
    return Conflict(detail, extra={"field": field} if field else None)


@contextmanager
def translated(
    duplicates: Mapping[str, DuplicateRule],
    index_keys: Mapping[str, str] | None = None,
) -> Iterator[None]:
    """Run a database call, turning duplicates into `Conflict` and lost servers into `Unavailable`.

    `duplicates` maps a unique key (`_id`, `email`, ...) to its conflict; `index_keys` maps an
    index name to its key, for servers whose error names only the index.
    """
    try:
        yield
    except DuplicateKeyError as error:
        raise conflict_for(error, duplicates, index_keys or {}) from error
    except UNREACHABLE as error:
        raise Unavailable("the database cannot be reached right now; try again shortly") from error
    except CollectionWasNotInitialized as error:
        raise Unavailable(
            "the database has not answered since start-up; try again shortly"
        ) from error
