"""Departments of the caller's company and their members."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post, put
from litestar.params import JSONBody

from novapulse_core.domain.paging import DEFAULT_PAGE_SIZE
from novapulse_entrypoints.api.controllers.paging import After, Limit, RecordId, page_request
from novapulse_entrypoints.api.deps import Caller, Services
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

    @get(
        "/",
        operation_id="department-list",
        responses=AUTHED_ERRORS,
        summary="List departments, oldest first",
    )
    async def list_departments(
        self,
        principal: Caller,
        services: Services,
        limit: Limit = DEFAULT_PAGE_SIZE,
        after: After = None,
    ) -> DepartmentPage:
        return department_page(
            await services.departments.list(principal, page_request(limit, after))
        )

    @post(
        "/",
        operation_id="department-create",
        responses=AUTHED_ERRORS,
        summary="Create a department",
    )
    async def create_department(
        self,
        data: JSONBody[NewDepartment],
        principal: Caller,
        services: Services,
    ) -> DepartmentOut:
        department = await services.departments.create(
            principal, name=data.name, description=data.description
        )
        return department_out(department)

    @get(
        "/{department_id:str}",
        operation_id="department-get",
        responses=AUTHED_ERRORS,
        summary="One department",
    )
    async def get_department(
        self,
        department_id: RecordId,
        principal: Caller,
        services: Services,
    ) -> DepartmentOut:
        return department_out(await services.departments.get(principal, department_id))

    @patch(
        "/{department_id:str}",
        operation_id="department-update",
        responses=AUTHED_ERRORS,
        summary="Edit a department",
    )
    async def update_department(
        self,
        department_id: RecordId,
        data: JSONBody[DepartmentPatch],
        principal: Caller,
        services: Services,
    ) -> DepartmentOut:
        department = await services.departments.update(
            principal, department_id, name=data.name, description=data.description
        )
        return department_out(department)

    @delete(
        "/{department_id:str}",
        operation_id="department-delete",
        responses=AUTHED_ERRORS,
        summary="Delete a department",
    )
    async def delete_department(
        self,
        department_id: RecordId,
        principal: Caller,
        services: Services,
    ) -> None:
        await services.departments.delete(principal, department_id)

    @get(
        "/{department_id:str}/members",
        operation_id="department-members",
        responses=AUTHED_ERRORS,
        summary="Members of a department",
    )
    async def members(
        self,
        department_id: RecordId,
        principal: Caller,
        services: Services,
        limit: Limit = DEFAULT_PAGE_SIZE,
        after: After = None,
    ) -> UserPage:
        page = await services.members.members(principal, department_id, page_request(limit, after))
        return user_page(page)

    @put(
        "/{department_id:str}/members/{user_id:str}",
        operation_id="department-add-member",
        responses=AUTHED_ERRORS,
        summary="Add a user to a department",
    )
    async def add_member(
        self,
        department_id: RecordId,
        user_id: RecordId,
        principal: Caller,
        services: Services,
    ) -> DepartmentOut:
        return department_out(
            await services.departments.add_member(principal, department_id, user_id)
        )

    @delete(
        "/{department_id:str}/members/{user_id:str}",
        operation_id="department-remove-member",
        responses=AUTHED_ERRORS,
        summary="Remove a user from a department",
    )
    async def remove_member(
        self,
        department_id: RecordId,
        user_id: RecordId,
        principal: Caller,
        services: Services,
    ) -> None:
        await services.departments.remove_member(principal, department_id, user_id)
