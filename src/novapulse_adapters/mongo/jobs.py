"""Job records in MongoDB (the seed's "MongoDB (Logs)"): one document per job, history embedded.

Retention: a TTL index on `finished_at` removes finished jobs `retention` after they finished.
It is not among the static Beanie indexes (its `expireAfterSeconds` comes from the settings);
`BeanieJobStore.ensure_retention_index()` creates it, or updates it in place with `collMod`
when the setting changed, before the store's first write (the composition root may call it at
start-up). Documents whose `finished_at` is null are never expired.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from beanie import Document, SortDirection
from pydantic import BaseModel
from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.errors import OperationFailure

from novapulse_adapters.memory.jobs import ATTEMPT_STATES, throughput_of
from novapulse_adapters.mongo.analytics import DEFAULT_ANALYTICS_READS, aggregate, read_preference
from novapulse_adapters.mongo.errors import DuplicateRule, translated
from novapulse_core.domain.errors import NotFound
from novapulse_core.domain.jobs import (
    FINISHED,
    Job,
    JobState,
    JobTransition,
    QueueName,
    QueueThroughput,
)
from novapulse_core.domain.paging import PageRequest

__all__ = ["RETENTION_INDEX", "BeanieJobStore", "JobDocument", "TransitionDocument"]

RETENTION_INDEX = "finished_at_ttl"
"""The name of the TTL index `BeanieJobStore` keeps on `finished_at`."""

_DUPLICATES: Mapping[str, DuplicateRule] = {"_id": ("a job with this id exists", None)}
_NEWEST_FIRST = [("_id", SortDirection.DESCENDING)]
_INDEX_OPTIONS_CONFLICT = (85, 86)  # IndexOptionsConflict, IndexKeySpecsConflict


def _utc(moment: datetime) -> datetime:
    """Aware UTC, whatever the driver returned (naive datetimes from Mongo are UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else _utc(moment)


class TransitionDocument(BaseModel):
    """One embedded transition; the same shape `record` pushes with pymongo."""

    job_id: str
    state: str
    at: datetime
    attempt: int
    error_type: str | None = None
    error_message: str | None = None
    duration_ms: float | None = None
    retry_in_seconds: float | None = None

    @classmethod
    def from_entity(cls, t: JobTransition) -> TransitionDocument:
        return cls(
            job_id=t.job_id,
            state=t.state.value,
            at=t.at,
            attempt=t.attempt,
            error_type=t.error_type,
            error_message=t.error_message,
            duration_ms=t.duration_ms,
            retry_in_seconds=t.retry_in_seconds,
        )

    def to_entity(self) -> JobTransition:
        return JobTransition(
            job_id=self.job_id,
            state=JobState(self.state),
            at=_utc(self.at),
            attempt=self.attempt,
            error_type=self.error_type,
            error_message=self.error_message,
            duration_ms=self.duration_ms,
            retry_in_seconds=self.retry_in_seconds,
        )


class JobDocument(Document):
    id: str  # type: ignore[assignment]  # the job id: time-ordered, so _id order is age order
    queue: str
    task: str
    payload: dict[str, Any]
    created_at: datetime
    company_id: str | None = None
    request_id: str | None = None
    state: str
    attempts: int
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    error_type: str | None = None
    error_message: str | None = None
    duration_ms: float | None = None
    transitions: list[TransitionDocument]

    class Settings:
        name = "jobs"
        indexes = [
            IndexModel(
                [("queue", ASCENDING), ("state", ASCENDING), ("_id", ASCENDING)],
                name="queue_state_id",
            ),
            IndexModel([("company_id", ASCENDING), ("_id", ASCENDING)], name="company_id_keyset"),
            IndexModel([("queue", ASCENDING), ("transitions.at", ASCENDING)], name="queue_at"),
        ]

    @classmethod
    def from_entity(cls, job: Job) -> JobDocument:
        return cls(
            id=job.id,
            queue=job.queue.value,
            task=job.task,
            payload=dict(job.payload),
            created_at=job.created_at,
            company_id=job.company_id,
            request_id=job.request_id,
            state=job.state.value,
            attempts=job.attempts,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
            error_type=job.error_type,
            error_message=job.error_message,
            duration_ms=job.duration_ms,
            transitions=[TransitionDocument.from_entity(t) for t in job.transitions],
        )

    def to_entity(self) -> Job:
        return Job(
            id=self.id,
            queue=QueueName(self.queue),
            task=self.task,
            payload=self.payload,
            created_at=_utc(self.created_at),
            company_id=self.company_id,
            request_id=self.request_id,
            state=JobState(self.state),
            attempts=self.attempts,
            updated_at=_utc_or_none(self.updated_at),
            finished_at=_utc_or_none(self.finished_at),
            error_type=self.error_type,
            error_message=self.error_message,
            duration_ms=self.duration_ms,
            transitions=tuple(t.to_entity() for t in self.transitions),
        )


def _changes(transitions: Sequence[JobTransition]) -> dict[str, Any]:
    """`apply` folded over one job's transitions, as one update that needs no prior read.

    The last transition sets the state and times; the last failure (failed or dead) sets the
    errors; the last known duration sets the duration; attempts take the $max; the
    transitions are $pushed in order.
    """
    last = transitions[-1]
    fields: dict[str, Any] = {
        "state": last.state.value,
        "updated_at": last.at,
        "finished_at": last.at if last.state in FINISHED else None,
    }
    for t in transitions:
        if t.state in (JobState.FAILED, JobState.DEAD):
            fields["error_type"] = t.error_type
            fields["error_message"] = t.error_message
        if t.duration_ms is not None:
            fields["duration_ms"] = t.duration_ms
    pushed = [TransitionDocument.from_entity(t).model_dump() for t in transitions]
    return {
        "$set": fields,
        "$max": {"attempts": max(t.attempt for t in transitions)},
        "$push": {"transitions": {"$each": pushed}},
    }


def _updates(transitions: Sequence[JobTransition]) -> list[UpdateOne]:
    """One update per job, jobs in order of first appearance (jobs do not affect each other)."""
    by_job: dict[str, list[JobTransition]] = {}
    for t in transitions:
        by_job.setdefault(t.job_id, []).append(t)
    return [UpdateOne({"_id": job_id}, _changes(steps)) for job_id, steps in by_job.items()]


class BeanieJobStore:
    """`JobStore` on the `jobs` collection (needs `MongoConnection.open()` first).

    `record` sends a batch as one bulk write of one update per job: one round trip. The
    dashboard's counts and throughput are read where `analytics_reads` says (see `analytics`).
    """

    def __init__(
        self, retention: timedelta, *, analytics_reads: str = DEFAULT_ANALYTICS_READS
    ) -> None:
        self._analytics = read_preference(analytics_reads)
        self._ttl_seconds = int(retention.total_seconds())
        self._retention_ready = False

    async def ensure_retention_index(self) -> None:
        """Create the TTL index on `finished_at`, or set its expiry if the retention changed."""
        with translated(_DUPLICATES):
            collection = JobDocument.get_pymongo_collection()
            try:
                await collection.create_index(
                    [("finished_at", ASCENDING)],
                    name=RETENTION_INDEX,
                    expireAfterSeconds=self._ttl_seconds,
                )
            except OperationFailure as error:
                if error.code not in _INDEX_OPTIONS_CONFLICT:
                    raise
                change = {"name": RETENTION_INDEX, "expireAfterSeconds": self._ttl_seconds}
                await collection.database.command({"collMod": collection.name, "index": change})
        self._retention_ready = True

    async def add(self, job: Job) -> None:
        if not self._retention_ready:
            await self.ensure_retention_index()
        with translated(_DUPLICATES):
            await JobDocument.from_entity(job).insert()

    async def record(self, transitions: Sequence[JobTransition]) -> None:
        if not transitions:
            return
        if not self._retention_ready:
            await self.ensure_retention_index()
        with translated(_DUPLICATES):
            collection = JobDocument.get_pymongo_collection()
            await collection.bulk_write(_updates(transitions), ordered=False)

    async def record_if_dead(self, transition: JobTransition) -> bool:
        if not self._retention_ready:
            await self.ensure_retention_index()
        dead = {"_id": transition.job_id, "state": JobState.DEAD.value}
        with translated(_DUPLICATES):
            collection = JobDocument.get_pymongo_collection()
            result = await collection.update_one(dead, _changes([transition]))
        return bool(result.modified_count)

    async def get(self, job_id: str) -> Job:
        with translated(_DUPLICATES):
            document = await JobDocument.find_one({"_id": job_id})
        if document is None:
            raise NotFound("no such job")
        return document.to_entity()

    async def list(
        self,
        page: PageRequest,
        *,
        queue: QueueName | None = None,
        state: JobState | None = None,
        company_id: str | None = None,
    ) -> Sequence[Job]:
        scope: dict[str, Any] = {}
        if queue is not None:
            scope["queue"] = queue.value
        if state is not None:
            scope["state"] = state.value
        if company_id is not None:
            scope["company_id"] = company_id
        if page.after is not None:
            scope["_id"] = {"$lt": page.after}
        with translated(_DUPLICATES):
            query = JobDocument.find(scope).sort(_NEWEST_FIRST).limit(page.limit + 1)
            documents = await query.to_list()
        return [document.to_entity() for document in documents]

    async def counts(
        self, queue: QueueName, *, company_id: str | None = None
    ) -> Mapping[JobState, int]:
        pipeline: list[dict[str, Any]] = [
            {"$match": _of_queue(queue, company_id)},
            {"$group": {"_id": "$state", "count": {"$sum": 1}}},
        ]
        with translated(_DUPLICATES):
            rows = await aggregate(JobDocument, pipeline, self._analytics)
        counts = {JobState(row["_id"]): int(row["count"]) for row in rows}
        return {state: counts.get(state, 0) for state in JobState}

    async def throughput(
        self, queue: QueueName, since: datetime, *, company_id: str | None = None
    ) -> QueueThroughput:
        attempt = {"state": {"$in": [s.value for s in ATTEMPT_STATES]}, "at": {"$gte": since}}
        pipeline: list[dict[str, Any]] = [
            {"$match": {**_of_queue(queue, company_id), "transitions": {"$elemMatch": attempt}}},
            {"$unwind": "$transitions"},
            {"$match": {f"transitions.{key}": value for key, value in attempt.items()}},
            {
                "$project": {
                    "_id": 0,
                    "state": "$transitions.state",
                    "ms": "$transitions.duration_ms",
                }
            },
        ]
        with translated(_DUPLICATES):
            rows = await aggregate(JobDocument, pipeline, self._analytics)
        return throughput_of((JobState(row["state"]), row.get("ms")) for row in rows)


def _of_queue(queue: QueueName, company_id: str | None) -> dict[str, Any]:
    """The filter of a queue's jobs, or of one company's jobs on it."""
    scope: dict[str, Any] = {"queue": queue.value}
    if company_id is not None:
        scope["company_id"] = company_id
    return scope
