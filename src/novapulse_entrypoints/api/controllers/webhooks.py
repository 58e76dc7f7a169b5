"""Webhook endpoints, their deliveries and attempts (owners, admins)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_202_ACCEPTED

from novapulse_core.domain.paging import DEFAULT_PAGE_SIZE
from novapulse_core.domain.webhooks import DeliveryStatus
from novapulse_entrypoints.api.controllers.paging import After, Limit, RecordId, page_request
from novapulse_entrypoints.api.deps import Caller, Services
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

    @post("/", operation_id="webhook-create", responses=AUTHED_ERRORS, summary="Add an endpoint")
    async def create(
        self, data: JSONBody[NewEndpoint], principal: Caller, services: Services
    ) -> CreatedEndpointOut:
        created = await services.webhooks.create(
            principal, url=data.url, event_types=data.event_types, description=data.description
        )
        return created_out(created)

    @get("/", operation_id="webhook-list", responses=AUTHED_ERRORS, summary="The endpoints")
    async def list_endpoints(
        self,
        principal: Caller,
        services: Services,
        limit: Limit = DEFAULT_PAGE_SIZE,
        after: After = None,
    ) -> EndpointPage:
        return endpoint_page(await services.webhooks.list(principal, page_request(limit, after)))

    @get("/{endpoint_id:str}", operation_id="webhook-get", responses=AUTHED_ERRORS)
    async def get_endpoint(
        self, endpoint_id: RecordId, principal: Caller, services: Services
    ) -> EndpointOut:
        return endpoint_out(await services.webhooks.get(principal, endpoint_id))

    @patch("/{endpoint_id:str}", operation_id="webhook-update", responses=AUTHED_ERRORS)
    async def update(
        self,
        endpoint_id: RecordId,
        data: JSONBody[EndpointPatch],
        principal: Caller,
        services: Services,
    ) -> EndpointOut:
        endpoint = await services.webhooks.update(
            principal,
            endpoint_id,
            url=data.url,
            event_types=data.event_types,
            description=data.description,
            active=data.active,
        )
        return endpoint_out(endpoint)

    @delete("/{endpoint_id:str}", operation_id="webhook-delete", responses=AUTHED_ERRORS)
    async def delete_endpoint(
        self, endpoint_id: RecordId, principal: Caller, services: Services
    ) -> None:
        await services.webhooks.delete(principal, endpoint_id)

    @post(
        "/{endpoint_id:str}/rotate-secret",
        operation_id="webhook-rotate-secret",
        responses=AUTHED_ERRORS,
        status_code=200,
        summary="A new secret; the old one still signs during the grace period",
    )
    async def rotate(
        self,
        endpoint_id: RecordId,
        data: JSONBody[Rotation],
        principal: Caller,
        services: Services,
    ) -> RotatedSecretOut:
        grace = timedelta(seconds=data.grace_seconds)
        return rotated_out(
            await services.webhooks.rotate_secret(principal, endpoint_id, grace=grace)
        )

    @post(
        "/{endpoint_id:str}/test",
        operation_id="webhook-test",
        responses=AUTHED_ERRORS,
        status_code=HTTP_202_ACCEPTED,
        summary="Send a webhook.test event to this endpoint",
    )
    async def send_test(
        self,
        endpoint_id: RecordId,
        data: JSONBody[TestEvent],
        principal: Caller,
        services: Services,
    ) -> DeliveryOut:
        return delivery_out(
            await services.webhooks.send_test(principal, endpoint_id, data=data.data)
        )

    @get(
        "/{endpoint_id:str}/deliveries",
        operation_id="webhook-deliveries",
        responses=AUTHED_ERRORS,
        summary="The endpoint's deliveries, newest first",
    )
    async def deliveries(
        self,
        endpoint_id: RecordId,
        principal: Caller,
        services: Services,
        limit: Limit = DEFAULT_PAGE_SIZE,
        after: After = None,
        status: StatusFilter = None,
    ) -> DeliveryPage:
        page = await services.webhooks.deliveries(
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
        endpoint_id: RecordId,
        principal: Caller,
        services: Services,
        limit: Limit = DEFAULT_PAGE_SIZE,
        after: After = None,
    ) -> AttemptPage:
        page = await services.webhooks.attempts(
            principal, page_request(limit, after), endpoint_id=endpoint_id
        )
        return attempt_page(page)


class WebhookDeliveryController(Controller):
    path = "/api/v1/webhook-deliveries"
    tags = ["webhooks"]

    @get("/{delivery_id:str}", operation_id="webhook-delivery-get", responses=AUTHED_ERRORS)
    async def get_delivery(
        self, delivery_id: RecordId, principal: Caller, services: Services
    ) -> DeliveryOut:
        return delivery_out(await services.webhooks.delivery(principal, delivery_id))

    @get(
        "/{delivery_id:str}/attempts",
        operation_id="webhook-delivery-attempts",
        responses=AUTHED_ERRORS,
    )
    async def attempts(
        self,
        delivery_id: RecordId,
        principal: Caller,
        services: Services,
        limit: Limit = DEFAULT_PAGE_SIZE,
        after: After = None,
    ) -> AttemptPage:
        page = await services.webhooks.attempts(
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
    async def redeliver(
        self, delivery_id: RecordId, principal: Caller, services: Services
    ) -> DeliveryOut:
        return delivery_out(await services.webhooks.redeliver(principal, delivery_id))
