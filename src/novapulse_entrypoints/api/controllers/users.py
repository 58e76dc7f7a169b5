"""Users of the caller's company."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch, post, put
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT
from litestar.types import BeforeRequestHookHandler

from novapulse_core.domain.identity import Role
from novapulse_core.domain.paging import DEFAULT_PAGE_SIZE
from novapulse_entrypoints.api.controllers.paging import After, Limit, RecordId, page_request
from novapulse_entrypoints.api.deps import ApiRequest, caller_first, current_request
from novapulse_entrypoints.api.problems import AUTHED_ERRORS
from novapulse_entrypoints.api.schemas import (
    NewUser,
    PasswordChange,
    RoleChange,
    UserOut,
    UserPage,
    UserPatch,
    user_out,
    user_page,
)


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["users"]
    before_request: BeforeRequestHookHandler | None = caller_first

    @get("/", operation_id="user-list", responses=AUTHED_ERRORS, summary="List users, oldest first")
    async def list_users(
        self,
        request: ApiRequest,
        limit: Limit = DEFAULT_PAGE_SIZE,
        after: After = None,
        role: Annotated[Role | None, Parameter(description="Only users with this role")] = None,
        active: Annotated[bool | None, Parameter(description="Active or not")] = None,
    ) -> UserPage:
        principal = await request.caller()
        page = await request.services.users.list(
            principal, page_request(limit, after), role=role, active=active
        )
        return user_page(page)

    @post(
        "/",
        operation_id="user-create",
        responses=AUTHED_ERRORS,
        summary="Add a user (admins and owners)",
    )
    async def create_user(self, request: ApiRequest, data: JSONBody[NewUser]) -> UserOut:
        principal = await request.caller()
        user = await request.services.users.add(
            principal, email=data.email, name=data.name, role=data.role, password=data.password
        )
        return user_out(user)

    @get("/me", operation_id="user-me", responses=AUTHED_ERRORS, summary="The caller")
    async def me(self) -> UserOut:
        request = current_request()
        principal = await request.caller()
        return user_out(await request.services.profiles.get(principal, principal.user_id))

    @post(
        "/me/password",
        operation_id="user-change-password",
        responses=AUTHED_ERRORS,
        summary="Change the caller's password",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def change_password(self, request: ApiRequest, data: JSONBody[PasswordChange]) -> None:
        principal = await request.caller()
        await request.services.auth.change_password(
            principal,
            current=data.current_password,
            new=data.new_password,
            client=request.client_address,
        )

    @get("/{user_id:str}", operation_id="user-get", responses=AUTHED_ERRORS, summary="One user")
    async def get_user(self, request: ApiRequest, user_id: RecordId) -> UserOut:
        principal = await request.caller()
        return user_out(await request.services.profiles.get(principal, user_id))

    @patch(
        "/{user_id:str}",
        operation_id="user-update",
        responses=AUTHED_ERRORS,
        summary="Edit a user's name or email",
    )
    async def update_user(
        self, request: ApiRequest, user_id: RecordId, data: JSONBody[UserPatch]
    ) -> UserOut:
        principal = await request.caller()
        user = await request.services.users.update_profile(
            principal, user_id, name=data.name, email=data.email
        )
        return user_out(user)

    @put(
        "/{user_id:str}/role",
        operation_id="user-change-role",
        responses=AUTHED_ERRORS,
        summary="Change a user's role",
    )
    async def change_role(
        self, request: ApiRequest, user_id: RecordId, data: JSONBody[RoleChange]
    ) -> UserOut:
        principal = await request.caller()
        return user_out(await request.services.users.change_role(principal, user_id, data.role))

    @post(
        "/{user_id:str}/deactivate",
        operation_id="user-deactivate",
        responses=AUTHED_ERRORS,
        summary="Deactivate a user (its tokens stop working)",
        status_code=200,
    )
    async def deactivate(self, request: ApiRequest, user_id: RecordId) -> UserOut:
        principal = await request.caller()
        return user_out(await request.services.users.deactivate(principal, user_id))

    @post(
        "/{user_id:str}/reactivate",
        operation_id="user-reactivate",
        responses=AUTHED_ERRORS,
        summary="Reactivate a user",
        status_code=200,
    )
    async def reactivate(self, request: ApiRequest, user_id: RecordId) -> UserOut:
        principal = await request.caller()
        return user_out(await request.services.users.reactivate(principal, user_id))
