"""Webhook endpoints, their deliveries and attempts (owners, admins)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_202_ACCEPTED
from litestar.types import BeforeRequestHookHandler

from novapulse_core.domain.paging import DEFAULT_PAGE_SIZE
from novapulse_core.domain.webhooks import DeliveryStatus
from novapulse_entrypoints.api.controllers.paging import After, Limit, RecordId, page_request
from novapulse_entrypoints.api.deps import ApiRequest, caller_first
from novapulse_entrypoints.api.problems import AUTHED_ERRORS
from novapulse_entrypoints.api.webhook_schemas import (
    AttemptPage,
    CreatedEndpointOut,
    DeliveryOut,
    DeliveryPage,
    EndpointOut,
    EndpointPage,
    EndpointPatch,
    NewEndpoint,
    RotatedSecretOut,
    Rotation,
    TestEvent,
    attempt_page,
    created_out,
    delivery_out,
    delivery_page,
    endpoint_out,
    endpoint_page,
    rotated_out,
)

StatusFilter = Annotated[DeliveryStatus | None, Parameter(description="Only this status")]


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["webhooks"]
    before_request: BeforeRequestHookHandler | None = caller_first

    @post("/", operation_id="webhook-create", responses=AUTHED_ERRORS, summary="Add an endpoint")
    async def create(self, request: ApiRequest, data: JSONBody[NewEndpoint]) -> CreatedEndpointOut:
        principal = await request.caller()
        created = await request.services.webhooks.create(
            principal, url=data.url, event_types=data.event_types, description=data.description
        )
        return created_out(created)

    @get("/", operation_id="webhook-list", responses=AUTHED_ERRORS, summary="The endpoints")
    async def list_endpoints(
        self, request: ApiRequest, limit: Limit = DEFAULT_PAGE_SIZE, after: After = None
    ) -> EndpointPage:
        principal = await request.caller()
        return endpoint_page(
            await request.services.webhooks.list(principal, page_request(limit, after))
        )

    @get("/{endpoint_id:str}", operation_id="webhook-get", responses=AUTHED_ERRORS)
    async def get_endpoint(self, request: ApiRequest, endpoint_id: RecordId) -> EndpointOut:
        principal = await request.caller()
        return endpoint_out(await request.services.webhooks.get(principal, endpoint_id))

    @patch("/{endpoint_id:str}", operation_id="webhook-update", responses=AUTHED_ERRORS)
    async def update(
        self, request: ApiRequest, endpoint_id: RecordId, data: JSONBody[EndpointPatch]
    ) -> EndpointOut:
        principal = await request.caller()
        endpoint = await request.services.webhooks.update(
            principal,
            endpoint_id,
            url=data.url,
            event_types=data.event_types,
            description=data.description,
            active=data.active,
        )
        return endpoint_out(endpoint)

    @delete("/{endpoint_id:str}", operation_id="webhook-delete", responses=AUTHED_ERRORS)
    async def delete_endpoint(self, request: ApiRequest, endpoint_id: RecordId) -> None:
        principal = await request.caller()
        await request.services.webhooks.delete(principal, endpoint_id)

    @post(
        "/{endpoint_id:str}/rotate-secret",
        operation_id="webhook-rotate-secret",
        responses=AUTHED_ERRORS,
        status_code=200,
        summary="A new secret; the old one still signs during the grace period",
    )
    async def rotate(
        self, request: ApiRequest, endpoint_id: RecordId, data: JSONBody[Rotation]
    ) -> RotatedSecretOut:
        principal = await request.caller()
        grace = timedelta(seconds=data.grace_seconds)
        return rotated_out(
            await request.services.webhooks.rotate_secret(principal, endpoint_id, grace=grace)
        )

    @post(
        "/{endpoint_id:str}/test",
        operation_id="webhook-test",
        responses=AUTHED_ERRORS,
        status_code=HTTP_202_ACCEPTED,
        summary="Send a webhook.test event to this endpoint",
    )
    async def send_test(
        self, request: ApiRequest, endpoint_id: RecordId, data: JSONBody[TestEvent]
    ) -> DeliveryOut:
        principal = await request.caller()
        return delivery_out(
            await request.services.webhooks.send_test(principal, endpoint_id, data=data.data)
        )

    @get(
        "/{endpoint_id:str}/deliveries",
        operation_id="webhook-deliveries",
        responses=AUTHED_ERRORS,
        summary="The endpoint's deliveries, newest first",
    )
    async def deliveries(
        self,
        request: ApiRequest,
        endpoint_id: RecordId,
        limit: Limit = DEFAULT_PAGE_SIZE,
        after: After = None,
        status: StatusFilter = None,
    ) -> DeliveryPage:
        principal = await request.caller()
        page = await request.services.webhooks.deliveries(
            principal, page_request(limit, after), endpoint_id=endpoint_id, status=status
        )
        return delivery_page(page)

    @get(
        "/{endpoint_id:str}/attempts",
        operation_id="webhook-endpoint-attempts",
        responses=AUTHED_ERRORS,
        summary="Every delivery attempt to the endpoint, newest first",
    )
    async def endpoint_attempts(
        self,
        request: ApiRequest,
        endpoint_id: RecordId,
        limit: Limit = DEFAULT_PAGE_SIZE,
        after: After = None,
    ) -> AttemptPage:
        principal = await request.caller()
        page = await request.services.webhooks.attempts(
            principal, page_request(limit, after), endpoint_id=endpoint_id
        )
        return attempt_page(page)


class WebhookDeliveryController(Controller):
    path = "/api/v1/webhook-deliveries"
    tags = ["webhooks"]
    before_request: BeforeRequestHookHandler | None = caller_first

    @get("/{delivery_id:str}", operation_id="webhook-delivery-get", responses=AUTHED_ERRORS)
    async def get_delivery(self, request: ApiRequest, delivery_id: RecordId) -> DeliveryOut:
        principal = await request.caller()
        return delivery_out(await request.services.webhooks.delivery(principal, delivery_id))

    @get(
        "/{delivery_id:str}/attempts",
        operation_id="webhook-delivery-attempts",
        responses=AUTHED_ERRORS,
    )
    async def attempts(
        self,
        request: ApiRequest,
        delivery_id: RecordId,
        limit: Limit = DEFAULT_PAGE_SIZE,
        after: After = None,
    ) -> AttemptPage:
        principal = await request.caller()
        page = await request.services.webhooks.attempts(
            principal, page_request(limit, after), delivery_id=delivery_id
        )
        return attempt_page(page)

    @post(
        "/{delivery_id:str}/redeliver",
        operation_id="webhook-redeliver",
        responses=AUTHED_ERRORS,
        status_code=HTTP_202_ACCEPTED,
        summary="Send a finished delivery again (same body and webhook-id)",
    )
    async def redeliver(self, request: ApiRequest, delivery_id: RecordId) -> DeliveryOut:
        principal = await request.caller()
        return delivery_out(await request.services.webhooks.redeliver(principal, delivery_id))
