"""The MFA setup interface's API: status, enrol, confirm, recovery codes, disable."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from novapulse_entrypoints.api.auth_schemas import (
    CodeRequest,
    DisableMfaRequest,
    EnrollmentConfirmedOut,
    MfaStatusOut,
    RecoveryCodesOut,
    TotpSetupOut,
    enrollment_confirmed_out,
    mfa_status_out,
    totp_setup_out,
)
from novapulse_entrypoints.api.deps import Bearer, Caller, ClientAddress, Enrolling, Services
from novapulse_entrypoints.api.problems import AUTHED_ERRORS


class MfaController(Controller):
    path = "/api/v1/auth/mfa"
    tags = ["mfa"]

    @get("/", operation_id="mfa-status", responses=AUTHED_ERRORS, summary="The caller's MFA")
    async def status(self, enrolling: Enrolling, services: Services) -> MfaStatusOut:
        return mfa_status_out(await services.mfa.status(enrolling))

    @post(
        "/setup",
        operation_id="mfa-setup",
        responses=AUTHED_ERRORS,
        status_code=200,
        summary="Start TOTP setup: secret, otpauth URI and QR code (pending until confirmed)",
    )
    async def setup(self, enrolling: Enrolling, services: Services) -> TotpSetupOut:
        return totp_setup_out(await services.mfa.start_enrollment(enrolling))

    @post(
        "/confirm",
        operation_id="mfa-confirm",
        responses=AUTHED_ERRORS,
        status_code=200,
        summary="Prove a code to turn MFA on; returns the recovery codes once",
    )
    async def confirm(
        self, data: JSONBody[CodeRequest], services: Services, bearer: Bearer, client: ClientAddress
    ) -> EnrollmentConfirmedOut:
        done = await services.auth.confirm_enrollment(bearer, data.code, client=client)
        return enrollment_confirmed_out(done)

    @post(
        "/recovery-codes",
        operation_id="mfa-recovery-codes",
        responses=AUTHED_ERRORS,
        status_code=200,
        summary="New recovery codes for a current code (the old ones stop working)",
    )
    async def recovery_codes(
        self,
        data: JSONBody[CodeRequest],
        principal: Caller,
        services: Services,
        client: ClientAddress,
    ) -> RecoveryCodesOut:
        codes = await services.mfa.regenerate_recovery_codes(principal, data.code, client=client)
        return RecoveryCodesOut(list(codes))

    @post(
        "/disable",
        operation_id="mfa-disable",
        responses=AUTHED_ERRORS,
        status_code=HTTP_204_NO_CONTENT,
        summary="Turn MFA off with the password and a current code",
    )
    async def disable(
        self,
        data: JSONBody[DisableMfaRequest],
        principal: Caller,
        services: Services,
        client: ClientAddress,
    ) -> None:
        await services.mfa.disable(principal, password=data.password, code=data.code, client=client)
