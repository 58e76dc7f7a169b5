"""The seed's indexes ("Database Design", "Indexes") exist on the MongoDB collections."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("beanie")

from novapulse_adapters.mongo import MongoConnection
from novapulse_adapters.mongo.documents import DepartmentDocument, UserDocument


async def test_users_are_indexed_by_unique_email_company_and_role_and_timestamps(
    mongo_connection: MongoConnection,
) -> None:
    indexes = await UserDocument.get_pymongo_collection().index_information()

    assert _keys(indexes["email_unique"]) == [("email", 1)]
    assert indexes["email_unique"]["unique"] is True
    assert _keys(indexes["company_role"]) == [("company_id", 1), ("role", 1)]
    assert _keys(indexes["created_at"]) == [("created_at", 1)]
    assert _keys(indexes["updated_at"]) == [("updated_at", 1)]


async def test_departments_are_indexed_by_company(mongo_connection: MongoConnection) -> None:
    indexes = await DepartmentDocument.get_pymongo_collection().index_information()

    assert any(_keys(index)[0] == ("company_id", 1) for index in indexes.values())


def _keys(index: dict[str, Any]) -> list[tuple[str, int]]:
    """An index's keys in order (pymongo gives a list of pairs; the stand-in, dict items)."""
    return [(name, int(direction)) for name, direction in index["key"]]
