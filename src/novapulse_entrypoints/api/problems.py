"""Every error leaves the API as RFC 9457 problem+json, mapped here and nowhere else."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

from novapulse_core import context
from novapulse_core.domain import errors

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:novapulse:problem:"

log = logging.getLogger("novapulse.api")

_STATUS_BY_CODE: dict[str, int] = {
    errors.NotFound.code: 404,
    errors.Conflict.code: 409,
    errors.Invalid.code: 422,
    errors.Unauthenticated.code: 401,
    errors.Forbidden.code: 403,
    errors.RateLimited.code: 429,
    errors.Unavailable.code: 503,
}

_CODE_BY_STATUS: dict[int, str] = {
    400: "invalid-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
}


def problem(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> Response[dict[str, object]]:
    body: dict[str, object] = {
        "type": TYPE_PREFIX + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": context.request_id.get(),
        **extra,
    }
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_error(
    request: Request[Any, Any, Any], error: errors.DomainError
) -> Response[dict[str, object]]:
    status = _STATUS_BY_CODE.get(error.code, 400)
    headers: dict[str, str] = {}
    if isinstance(error, errors.Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="novapulse"'
    if isinstance(error, errors.RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    return problem(request, status, error.code, error.detail, headers=headers, **error.extra)


def http_error(
    request: Request[Any, Any, Any], error: HTTPException
) -> Response[dict[str, object]]:
    status = error.status_code
    if status >= 500:
        return unexpected_error(request, error)
    extra: dict[str, object] = {}
    if isinstance(error, ValidationException) and error.extra:
        extra["errors"] = _as_sent(request, error.extra)
    code = _CODE_BY_STATUS.get(status, "client-error")
    return problem(request, status, code, error.detail, headers=error.headers, **extra)


def _as_sent(request: Request[Any, Any, Any], found: object) -> object:
    """Litestar's validation errors in the request's own terms: a query parameter by the name
    it is sent under (not the handler's argument: `state` cannot be one in Litestar), and a
    missing body said as such (Litestar reports it as the argument's name in quotes)."""
    if not isinstance(found, list):
        return found
    handler = request.scope.get("route_handler")
    parameters = handler.parsed_fn_signature.parameters if handler is not None else {}
    sent = []
    for entry in found:
        if isinstance(entry, dict):
            key = entry.get("key")
            if entry.get("source") == "query" and key in parameters:
                named = getattr(parameters[key].kwarg_definition, "name", None)
                entry = {**entry, "key": named or key}
            elif entry.get("source") == "body" and entry.get("message") == f"'{key}'":
                entry = {**entry, "message": "a JSON body is required (`{}` at least)"}
        sent.append(entry)
    return sent


def unexpected_error(
    request: Request[Any, Any, Any], error: Exception
) -> Response[dict[str, object]]:
    log.error("unhandled error", exc_info=error)
    return problem(request, 500, "internal", "an unexpected error occurred; it has been logged")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    errors.DomainError: domain_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}


class ProblemDetail(msgspec.Struct):
    """RFC 9457 problem details; `type` is stable (`urn:novapulse:problem:<code>`)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None = None
    field: str | None = None
    retry_after: int | None = None
    errors: list[dict[str, Any]] | None = None


def documented(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses a route can give."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetail,
            description=HTTPStatus(status).phrase,
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }


PUBLIC: list[dict[str, list[str]]] = [{}]
"""`security` of a route that needs no token (overrides the document's bearer default)."""

PUBLIC_ERRORS = documented(400, 401, 403, 409, 413, 422, 429, 503)
AUTHED_ERRORS = documented(400, 401, 403, 404, 409, 413, 422, 429, 503)
