"""Bearer authentication as a Litestar dependency: handlers that need a caller ask for one."""

from __future__ import annotations

from typing import Any

from litestar import Request

from novapulse_core.domain.access import Principal
from novapulse_core.domain.errors import Unauthenticated
from novapulse_entrypoints.api.deps import Services

MAX_TOKEN_LENGTH = 4096


def bearer_token(request: Request[Any, Any, Any]) -> str:
    header = _authorization(request.scope["headers"])
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("send an access token as 'Authorization: Bearer <token>'")
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("the access token is invalid")
    return token


def _authorization(headers: Any) -> str:
    """The first `Authorization` header, read from the raw ASGI headers (building Litestar's
    `Headers` for one value costs more than the lookup)."""
    for name, value in headers:
        if name.lower() == b"authorization":
            return str(value.decode("latin-1"))
    return ""


async def current_principal(request: Request[Any, Any, Any], services: Services) -> Principal:
    return await services.auth.authenticate(bearer_token(request))


async def enrolling_principal(request: Request[Any, Any, Any], services: Services) -> Principal:
    """Like `current_principal`, but an enrol-only token passes too (the MFA setup routes)."""
    return await services.auth.authenticate_for_enrollment(bearer_token(request))


def client_address(request: Request[Any, Any, Any]) -> str | None:
    """The peer address, which brute-force limits count per (the server's view of it)."""
    return request.client.host if request.client else None
