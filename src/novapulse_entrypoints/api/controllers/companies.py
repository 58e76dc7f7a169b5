"""Sign-up, the caller's company and its statistics."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post, put
from litestar.params import JSONBody

from novapulse_core.domain.errors import Forbidden
from novapulse_entrypoints.api.auth_schemas import MfaPolicy
from novapulse_entrypoints.api.deps import ApiRequest, caller_first, current_request
from novapulse_entrypoints.api.problems import AUTHED_ERRORS, PUBLIC, PUBLIC_ERRORS
from novapulse_entrypoints.api.schemas import (
    CompanyOut,
    CompanyPatch,
    Signup,
    SignupOut,
    StatsOut,
    company_out,
    stats_out,
    user_out,
)


class CompanyController(Controller):
    path = "/api/v1"
    tags = ["companies"]

    @post(
        "/companies",
        operation_id="company-signup",
        responses=PUBLIC_ERRORS,
        security=PUBLIC,
        summary="Create a company with its first owner",
    )
    async def signup(self, request: ApiRequest, data: JSONBody[Signup]) -> SignupOut:
        services = request.services
        if not services.settings.signup_enabled:
            raise Forbidden("sign-up is disabled on this installation")
        registration = await services.companies.register(
            company_name=data.company_name,
            owner_email=data.owner_email,
            owner_name=data.owner_name,
            owner_password=data.owner_password,
        )
        return SignupOut(company_out(registration.company), user_out(registration.owner))

    @get(
        "/company",
        operation_id="company-get",
        responses=AUTHED_ERRORS,
        summary="The caller's company",
    )
    async def get_company(self) -> CompanyOut:
        request = current_request()
        principal = await request.caller()
        return company_out(await request.services.companies.get(principal))

    @patch(
        "/company",
        operation_id="company-update",
        responses=AUTHED_ERRORS,
        summary="Rename the caller's company",
        before_request=caller_first,
    )
    async def update_company(self, request: ApiRequest, data: JSONBody[CompanyPatch]) -> CompanyOut:
        principal = await request.caller()
        return company_out(await request.services.companies.rename(principal, data.name))

    @put(
        "/company/mfa-policy",
        operation_id="company-mfa-policy",
        responses=AUTHED_ERRORS,
        summary="The roles whose users must set up MFA before getting full access",
        before_request=caller_first,
    )
    async def mfa_policy(self, request: ApiRequest, data: JSONBody[MfaPolicy]) -> CompanyOut:
        principal = await request.caller()
        companies = request.services.companies
        return company_out(await companies.require_mfa_for(principal, data.required_roles))

    @delete(
        "/company/cache",
        operation_id="company-cache-clear",
        responses=AUTHED_ERRORS,
        status_code=200,
        summary="Drop the company's cached stats, profiles and member lists",
    )
    async def clear_cache(self) -> dict[str, int]:
        request = current_request()
        principal = await request.caller()
        return {"cleared": await request.services.cache_admin.clear_company(principal)}

    @get(
        "/company/stats",
        operation_id="company-stats",
        responses=AUTHED_ERRORS,
        summary="Active users by role and members by department",
    )
    async def stats(self) -> StatsOut:
        request = current_request()
        principal = await request.caller()
        return stats_out(await request.services.stats.company_stats(principal))
