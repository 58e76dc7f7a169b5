"""Departments of the caller's company and their members."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post, put
from litestar.params import JSONBody
from litestar.types import BeforeRequestHookHandler

from novapulse_core.domain.paging import DEFAULT_PAGE_SIZE
from novapulse_entrypoints.api.controllers.paging import After, Limit, RecordId, page_request
from novapulse_entrypoints.api.deps import ApiRequest, caller_first
from novapulse_entrypoints.api.problems import AUTHED_ERRORS
from novapulse_entrypoints.api.schemas import (
    DepartmentOut,
    DepartmentPage,
    DepartmentPatch,
    NewDepartment,
    UserPage,
    department_out,
    department_page,
    user_page,
)


class DepartmentController(Controller):
    path = "/api/v1/departments"
    tags = ["departments"]
    before_request: BeforeRequestHookHandler | None = caller_first

    @get(
        "/",
        operation_id="department-list",
        responses=AUTHED_ERRORS,
        summary="List departments, oldest first",
    )
    async def list_departments(
        self, request: ApiRequest, limit: Limit = DEFAULT_PAGE_SIZE, after: After = None
    ) -> DepartmentPage:
        principal = await request.caller()
        return department_page(
            await request.services.departments.list(principal, page_request(limit, after))
        )

    @post(
        "/",
        operation_id="department-create",
        responses=AUTHED_ERRORS,
        summary="Create a department",
    )
    async def create_department(
        self, request: ApiRequest, data: JSONBody[NewDepartment]
    ) -> DepartmentOut:
        principal = await request.caller()
        department = await request.services.departments.create(
            principal, name=data.name, description=data.description
        )
        return department_out(department)

    @get(
        "/{department_id:str}",
        operation_id="department-get",
        responses=AUTHED_ERRORS,
        summary="One department",
    )
    async def get_department(self, request: ApiRequest, department_id: RecordId) -> DepartmentOut:
        principal = await request.caller()
        return department_out(await request.services.departments.get(principal, department_id))

    @patch(
        "/{department_id:str}",
        operation_id="department-update",
        responses=AUTHED_ERRORS,
        summary="Edit a department",
    )
    async def update_department(
        self, request: ApiRequest, department_id: RecordId, data: JSONBody[DepartmentPatch]
    ) -> DepartmentOut:
        principal = await request.caller()
        department = await request.services.departments.update(
            principal, department_id, name=data.name, description=data.description
        )
        return department_out(department)

    @delete(
        "/{department_id:str}",
        operation_id="department-delete",
        responses=AUTHED_ERRORS,
        summary="Delete a department",
    )
    async def delete_department(self, request: ApiRequest, department_id: RecordId) -> None:
        principal = await request.caller()
        await request.services.departments.delete(principal, department_id)

    @get(
        "/{department_id:str}/members",
        operation_id="department-members",
        responses=AUTHED_ERRORS,
        summary="Members of a department",
    )
    async def members(
        self,
        request: ApiRequest,
        department_id: RecordId,
        limit: Limit = DEFAULT_PAGE_SIZE,
        after: After = None,
    ) -> UserPage:
        principal = await request.caller()
        page = await request.services.members.members(
            principal, department_id, page_request(limit, after)
        )
        return user_page(page)

    @put(
        "/{department_id:str}/members/{user_id:str}",
        operation_id="department-add-member",
        responses=AUTHED_ERRORS,
        summary="Add a user to a department",
    )
    async def add_member(
        self, request: ApiRequest, department_id: RecordId, user_id: RecordId
    ) -> DepartmentOut:
        principal = await request.caller()
        return department_out(
            await request.services.departments.add_member(principal, department_id, user_id)
        )

    @delete(
        "/{department_id:str}/members/{user_id:str}",
        operation_id="department-remove-member",
        responses=AUTHED_ERRORS,
        summary="Remove a user from a department",
    )
    async def remove_member(
        self, request: ApiRequest, department_id: RecordId, user_id: RecordId
    ) -> None:
        principal = await request.caller()
        await request.services.departments.remove_member(principal, department_id, user_id)
