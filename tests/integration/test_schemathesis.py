"""Schemathesis over the app's own OpenAPI document, with every default check: no server error,
statuses, headers and bodies as documented, invalid input refused, valid input accepted.

One app serves the whole module (its stores are in memory). Requests carry the token of an owner
signed up through the API itself, and path ids are sometimes swapped for a department and a user
that exist, so the authenticated routes answer 2xx as well as 401 and 404.
"""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import schemathesis
from hypothesis import settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis import AuthContext, Case, HookContext
from schemathesis.checks import allow_header_conformance, positive_data_acceptance

from novapulse_entrypoints.api import create_app

from .conftest import PASSWORD, Account, add_user, make_settings, sign_up

SCHEMA_PATH = "/schema/openapi.json"
RESOLVED_URLS = {("POST", "/api/v1/webhooks"), ("PATCH", "/api/v1/webhooks/{endpoint_id}")}
DELETE_DEPARTMENT = ("DELETE", "/api/v1/departments/{department_id}")
MFA_SETUP = ("POST", "/api/v1/auth/mfa/setup")


@attrs.frozen
class World:
    """The app's OpenAPI document, and an owner, a member and a department that exist."""

    document: dict[str, Any]
    owner: Account
    member: Account
    department_id: str


def found_world(app: Litestar) -> World:
    # The app's lifespan runs only inside this block: schemathesis's `from_asgi` would keep one
    # running from collection to this module's first test, alongside other modules' apps.
    with TestClient(app) as client:
        document = client.get(SCHEMA_PATH).json()
        owner = sign_up(client, "Schemathesis")
        member = add_user(client, owner, "member@schemathesis.example", "member")
        created = client.post("/api/v1/departments", json={"name": "Fuzz"}, headers=owner.headers)
    return World(document, owner, member, created.json()["id"])


# Schemathesis keeps the app's lifespan alive for the rest of the process: its embedded workers
# would hold the process's one job event loop, so this app runs none (jobs wait, unprocessed).
APP = create_app(make_settings(NOVAPULSE_EMBEDDED_WORKERS="false"))
WORLD = found_world(APP)
schema = schemathesis.openapi.from_dict(WORLD.document)
schema.app, schema.location = APP, SCHEMA_PATH
SPARE_NUMBERS = itertools.count(1)


def spare_department() -> str:
    body: dict[str, Any] = {"name": f"Spare {next(SPARE_NUMBERS)}"}
    case = schema["/api/v1/departments"]["POST"].Case(body=body, headers=WORLD.owner.headers)
    response = case.call()
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def existing_ids(method: str, path: str) -> dict[str, str]:
    """Ids that exist; deleting a department takes a new one, so the shared one stays."""
    if (method.upper(), path) == DELETE_DEPARTMENT:
        return {"department_id": spare_department()}
    return {"department_id": WORLD.department_id, "user_id": WORLD.member.user_id}


LOGOUTS = {"/api/v1/auth/logout", "/api/v1/auth/logout/all"}


def fresh_member_token() -> str:
    """A new session of the member, for the routes that end sessions."""
    body = {"email": WORLD.member.email, "password": PASSWORD}
    response = schema["/api/v1/auth/login"]["POST"].Case(body=body).call()
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@schema.auth(refresh_interval=None)
class OwnerToken:
    """Every request carries the owner's token (schemathesis drops it to test 401s), but a
    logout ends a fresh session of the member, so the owner's token stays valid."""

    def get(self, case: Case[Any], context: AuthContext) -> str:
        if case.operation.path in LOGOUTS:
            return fresh_member_token()
        return WORLD.owner.token

    def set(self, case: Case[Any], data: str, context: AuthContext) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


@schema.hook
def flatmap_path_parameters(
    context: HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """Some requests aim at records that exist, not only at unknown ids."""
    if not path_parameters or context.operation is None:
        return st.just(path_parameters)
    method, path = context.operation.method, context.operation.path

    def with_existing_ids() -> dict[str, Any]:
        known = existing_ids(method, path)
        return {**path_parameters, **{k: v for k, v in known.items() if k in path_parameters}}

    return st.one_of(st.just(path_parameters), st.builds(with_existing_ids))


@schema.parametrize()
@settings(max_examples=20, derandomize=True, database=None, deadline=None)
def test_every_operation_answers_as_the_schema_documents(case: Case[Any]) -> None:
    # Litestar lists one handler's methods in `Allow` when a path has several (litestar#4169).
    excluded = [allow_header_conformance]
    if (case.method.upper(), case.path) in RESOLVED_URLS:
        # A webhook URL must resolve to a public address: no schema can say which do.
        excluded.append(positive_data_acceptance)
    if (case.method.upper(), case.path) == MFA_SETUP:
        # A full session must send the right password, an enrol-only token need not: the schema
        # cannot say which token a request carries, nor what a user's password is.
        excluded.append(positive_data_acceptance)
    case.call_and_validate(excluded_checks=excluded)
