"""The public keys of access tokens, so other services verify them without a shared secret."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get

from novapulse_entrypoints.api.deps import current_request
from novapulse_entrypoints.api.problems import PUBLIC


class JwksController(Controller):
    path = "/.well-known"
    tags = ["auth"]

    @get(
        "/jwks.json",
        operation_id="jwks",
        security=PUBLIC,
        summary="JSON Web Key Set of the token signing keys (empty with HMAC signing)",
    )
    async def jwks(self) -> dict[str, list[dict[str, Any]]]:
        request = current_request()
        return {"keys": request.services.tokens.jwks()}
