"""The job queue dashboard: queue status, jobs, and requeueing dead ones (owners, admins)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter, QueryParameter
from litestar.types import BeforeRequestHookHandler

from novapulse_core.domain.jobs import JobState, QueueName
from novapulse_core.domain.paging import DEFAULT_PAGE_SIZE
from novapulse_entrypoints.api.controllers.paging import After, Limit, RecordId, page_request
from novapulse_entrypoints.api.deps import ApiRequest, caller_first, current_request
from novapulse_entrypoints.api.job_schemas import (
    JobDetailOut,
    JobPage,
    QueueStatusOut,
    RequeuedOut,
    job_detail_out,
    job_page,
    queue_statuses_out,
)
from novapulse_entrypoints.api.problems import AUTHED_ERRORS


class JobController(Controller):
    path = "/api/v1/jobs"
    tags = ["jobs"]
    before_request: BeforeRequestHookHandler | None = caller_first

    @get(
        "/queues",
        operation_id="job-queues",
        responses=AUTHED_ERRORS,
        summary="Every queue's policy, depth, states and throughput",
    )
    async def queues(self) -> list[QueueStatusOut]:
        request = current_request()
        principal = await request.caller()
        return queue_statuses_out(await request.services.jobs.status(principal))

    @get("/", operation_id="job-list", responses=AUTHED_ERRORS, summary="The company's jobs")
    async def list_jobs(
        self,
        request: ApiRequest,
        limit: Limit = DEFAULT_PAGE_SIZE,
        after: After = None,
        queue: Annotated[QueueName | None, Parameter(description="Only this queue")] = None,
        job_state: Annotated[
            JobState | None, QueryParameter(name="state", description="Only this state")
        ] = None,
    ) -> JobPage:
        principal = await request.caller()
        page = await request.services.jobs.list(
            principal, page_request(limit, after), queue=queue, state=job_state
        )
        return job_page(page)

    @get(
        "/{job_id:str}",
        operation_id="job-get",
        responses=AUTHED_ERRORS,
        summary="One job with its payload and every transition",
    )
    async def get_job(self, request: ApiRequest, job_id: RecordId) -> JobDetailOut:
        principal = await request.caller()
        return job_detail_out(await request.services.jobs.get(principal, job_id))

    @post(
        "/{job_id:str}/requeue",
        operation_id="job-requeue",
        responses=AUTHED_ERRORS,
        status_code=200,
        summary="Send a dead job back to its queue",
    )
    async def requeue(self, request: ApiRequest, job_id: RecordId) -> JobDetailOut:
        principal = await request.caller()
        return job_detail_out(await request.services.jobs.requeue(principal, job_id))

    @post(
        "/queues/{queue:str}/requeue-dead",
        operation_id="job-requeue-dead",
        responses=AUTHED_ERRORS,
        status_code=200,
        summary="Send every dead job of the company on this queue back to it",
    )
    async def requeue_dead(
        self, request: ApiRequest, queue: Annotated[QueueName, Parameter(description="The queue")]
    ) -> RequeuedOut:
        principal = await request.caller()
        return RequeuedOut(await request.services.jobs.requeue_dead(principal, queue))
