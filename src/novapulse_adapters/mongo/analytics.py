"""Aggregations on the read replicas (the seed's MongoDB "Replication": "Read replicas for
analytics/aggregations"): the department sizes of the company stats and the job dashboard's
counts and throughput, which may lag the primary by the replication delay (the stats are
cached 60 s anyway). Nothing a rule decides on reads there: the count of a company's owners
by role, which guards its last owner, stays on the primary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from beanie import Document
from pymongo.read_preferences import _ServerMode, make_read_preference, read_pref_mode_from_name

DEFAULT_ANALYTICS_READS = "secondaryPreferred"
READ_PREFERENCES = ("primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest")


def read_preference(mode: str) -> _ServerMode:
    """pymongo's read preference of one of `READ_PREFERENCES` (ValueError for another)."""
    if mode not in READ_PREFERENCES:
        raise ValueError(f"expected one of {', '.join(READ_PREFERENCES)}, got {mode!r}")
    return make_read_preference(read_pref_mode_from_name(mode), None)


async def aggregate(
    document: type[Document], pipeline: Sequence[dict[str, Any]], reads: _ServerMode
) -> list[dict[str, Any]]:
    """The rows of `pipeline` on `document`'s collection, read where `reads` says."""
    collection = document.get_pymongo_collection().with_options(read_preference=reads)
    cursor = await collection.aggregate(list(pipeline))
    rows: list[dict[str, Any]] = await cursor.to_list(None)
    return rows
