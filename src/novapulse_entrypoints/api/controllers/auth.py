"""Login (seed, "Authentication Flow")."""

from __future__ import annotations

from litestar import Controller, post

from novapulse_core.services import AuthService
from novapulse_entrypoints.api.problems import PUBLIC_ERRORS
from novapulse_entrypoints.api.schemas import Login, TokenOut, token_out


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/login",
        operation_id="auth-login",
        responses=PUBLIC_ERRORS,
        status_code=200,
        summary="Exchange email and password for a token",
    )
    async def login(self, data: Login, auth: AuthService) -> TokenOut:
        return token_out(await auth.login(data.email, data.password))
