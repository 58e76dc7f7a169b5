"""Login (seed, "Authentication Flow")."""

from __future__ import annotations

from litestar import Controller, post
from litestar.params import JSONBody

from novapulse_entrypoints.api.deps import Auth
from novapulse_entrypoints.api.problems import PUBLIC, PUBLIC_ERRORS
from novapulse_entrypoints.api.schemas import Login, TokenOut, token_out


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/login",
        operation_id="auth-login",
        responses=PUBLIC_ERRORS,
        security=PUBLIC,
        status_code=200,
        summary="Exchange email and password for a token",
    )
    async def login(self, data: JSONBody[Login], auth: Auth) -> TokenOut:
        return token_out(await auth.login(data.email, data.password))
