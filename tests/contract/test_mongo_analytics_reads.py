"""The seed's "Read replicas for analytics/aggregations": the department sizes and the job
dashboard's aggregations are read where the setting says; everything else reads the primary,
the count of users by role too (it guards a company's last owner). (Which member answers is
the driver's part, not tested here: the stand-in has no replicas.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

pytest.importorskip("beanie")

from novapulse_adapters.mongo import (
    BeanieDepartmentStore,
    BeanieJobStore,
    BeanieUserStore,
    MongoConnection,
)
from novapulse_core.domain.jobs import QueueName
from support import mongo_standin
from support.mongo_standin import StandInCollection

SINCE = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(collection, read preference) of every collection the stores asked for with options."""
    seen: list[tuple[str, str]] = []
    with_options = StandInCollection.with_options

    def noted(self: StandInCollection, **options: Any) -> StandInCollection:
        seen.append((self.name, options["read_preference"].mongos_mode))
        return with_options(self, **options)

    monkeypatch.setattr(mongo_standin.StandInCollection, "with_options", noted)
    return seen


async def test_stats_and_dashboard_aggregations_read_where_the_setting_says(
    mongo_connection: MongoConnection, reads: list[tuple[str, str]]
) -> None:
    departments = BeanieDepartmentStore(analytics_reads="secondary")
    jobs = BeanieJobStore(timedelta(days=1), analytics_reads="secondary")

    await departments.sizes("co")
    await jobs.counts(QueueName.EMAIL)
    await jobs.throughput(QueueName.EMAIL, SINCE)

    assert sorted(reads) == [
        ("departments", "secondary"),
        ("jobs", "secondary"),
        ("jobs", "secondary"),
    ]


async def test_by_default_they_prefer_a_secondary(
    mongo_connection: MongoConnection, reads: list[tuple[str, str]]
) -> None:
    await BeanieDepartmentStore().sizes("co")

    assert reads == [("departments", "secondaryPreferred")]


async def test_the_owner_guarding_count_and_single_reads_stay_on_the_primary(
    mongo_connection: MongoConnection, reads: list[tuple[str, str]]
) -> None:
    users = BeanieUserStore()
    await users.count_by_role("co")
    assert await users.find_by_email("nobody@example.com") is None

    assert reads == []
