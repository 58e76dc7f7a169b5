"""The MFA setup interface's API: status, enrol, confirm, recovery codes, disable."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, get, post
from litestar.openapi.spec import Operation, RequestBody
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from novapulse_entrypoints.api.auth_schemas import (
    CodeRequest,
    DisableMfaRequest,
    EnrollmentConfirmedOut,
    MfaSetupRequest,
    MfaStatusOut,
    RecoveryCodesOut,
    TotpSetupOut,
    enrollment_confirmed_out,
    mfa_status_out,
    totp_setup_out,
)
from novapulse_entrypoints.api.deps import ApiRequest, bearer_first, caller_first, current_request
from novapulse_entrypoints.api.problems import AUTHED_ERRORS


@dataclass
class OptionalBodyOperation(Operation):
    """An operation whose JSON body may be left out (Litestar marks every body required)."""

    def __post_init__(self) -> None:
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


class MfaController(Controller):
    path = "/api/v1/auth/mfa"
    tags = ["mfa"]

    @get("/", operation_id="mfa-status", responses=AUTHED_ERRORS, summary="The caller's MFA")
    async def status(self) -> MfaStatusOut:
        request = current_request()
        enrolling = await request.enrolling()
        return mfa_status_out(await request.services.mfa.status(enrolling))

    @post(
        "/setup",
        operation_id="mfa-setup",
        operation_class=OptionalBodyOperation,
        responses=AUTHED_ERRORS,
        status_code=200,
        summary="Start TOTP setup: secret, otpauth URI and QR code (pending until confirmed)",
        description=(
            "With a full session the body carries the caller's current `password` (missing: "
            "422; wrong: 401, counted like a wrong login); an enrol-only token needs no body."
        ),
        before_request=bearer_first,
    )
    async def setup(
        self, request: ApiRequest, data: JSONBody[MfaSetupRequest | None] = None
    ) -> TotpSetupOut:
        password = data.password if data is not None else None
        setup = await request.services.auth.start_enrollment(
            request.bearer, password=password, client=request.client_address
        )
        return totp_setup_out(setup)

    @post(
        "/confirm",
        operation_id="mfa-confirm",
        responses=AUTHED_ERRORS,
        status_code=200,
        summary="Prove a code to turn MFA on; returns the recovery codes once",
        before_request=bearer_first,
    )
    async def confirm(
        self, request: ApiRequest, data: JSONBody[CodeRequest]
    ) -> EnrollmentConfirmedOut:
        done = await request.services.auth.confirm_enrollment(
            request.bearer, data.code, client=request.client_address
        )
        return enrollment_confirmed_out(done)

    @post(
        "/recovery-codes",
        operation_id="mfa-recovery-codes",
        responses=AUTHED_ERRORS,
        status_code=200,
        summary="New recovery codes for a current code (the old ones stop working)",
        before_request=caller_first,
    )
    async def recovery_codes(
        self, request: ApiRequest, data: JSONBody[CodeRequest]
    ) -> RecoveryCodesOut:
        principal = await request.caller()
        codes = await request.services.mfa.regenerate_recovery_codes(
            principal, data.code, client=request.client_address
        )
        return RecoveryCodesOut(list(codes))

    @post(
        "/disable",
        operation_id="mfa-disable",
        responses=AUTHED_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
        summary="Turn MFA off with the password and a current code",
        before_request=caller_first,
    )
    async def disable(self, request: ApiRequest, data: JSONBody[DisableMfaRequest]) -> None:
        principal = await request.caller()
        await request.services.mfa.disable(
            principal, password=data.password, code=data.code, client=request.client_address
        )
