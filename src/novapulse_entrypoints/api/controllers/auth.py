"""Login, the MFA challenge, refresh and logout (seed, "Authentication Flow")."""

from __future__ import annotations

from litestar import Controller, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from novapulse_entrypoints.api.auth_schemas import (
    ChallengeAnswer,
    EnrollmentRequiredOut,
    LogoutRequest,
    MfaRequiredOut,
    RefreshRequest,
    SessionOut,
    login_out,
    session_out,
)
from novapulse_entrypoints.api.deps import ApiRequest, bearer_first, current_request
from novapulse_entrypoints.api.problems import AUTHED_ERRORS, PUBLIC, PUBLIC_ERRORS
from novapulse_entrypoints.api.schemas import Login


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/login",
        operation_id="auth-login",
        responses=PUBLIC_ERRORS,
        security=PUBLIC,
        status_code=200,
        summary="Email and password: a session, an MFA challenge, or enrol-first",
    )
    async def login(
        self, request: ApiRequest, data: JSONBody[Login]
    ) -> SessionOut | MfaRequiredOut | EnrollmentRequiredOut:
        client = request.client_address
        return login_out(
            await request.services.auth.login(data.email, data.password, client=client)
        )

    @post(
        "/mfa/verify",
        operation_id="auth-mfa-verify",
        responses=PUBLIC_ERRORS,
        security=PUBLIC,
        status_code=200,
        summary="Answer an MFA challenge with a TOTP code or a recovery code",
    )
    async def verify(self, request: ApiRequest, data: JSONBody[ChallengeAnswer]) -> SessionOut:
        session = await request.services.auth.verify_challenge(
            data.challenge_token,
            code=data.code,
            recovery_code=data.recovery_code,
            client=request.client_address,
        )
        return session_out(session)

    @post(
        "/refresh",
        operation_id="auth-refresh",
        responses=PUBLIC_ERRORS,
        security=PUBLIC,
        status_code=200,
        summary="Trade a refresh token for new tokens (reusing a spent one ends the session)",
    )
    async def refresh(self, request: ApiRequest, data: JSONBody[RefreshRequest]) -> SessionOut:
        return session_out(await request.services.auth.refresh(data.refresh_token))

    @post(
        "/logout",
        operation_id="auth-logout",
        responses=AUTHED_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
        summary="Revoke this access token and its session",
        before_request=bearer_first,
    )
    async def logout(self, request: ApiRequest, data: JSONBody[LogoutRequest]) -> None:
        await request.services.auth.logout(request.bearer, refresh_token=data.refresh_token)

    @post(
        "/logout/all",
        operation_id="auth-logout-all",
        responses=AUTHED_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
        summary="Revoke this access token and every session of the caller",
    )
    async def logout_everywhere(self) -> None:
        request = current_request()
        await request.services.auth.logout(request.bearer, everywhere=True)
