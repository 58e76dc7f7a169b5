"""Every kind of bad input gets a 4xx problem+json with a stable type, never a 5xx."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import attrs
import jwt
import pytest
from httpx import Response
from litestar.testing import TestClient

from novapulse_entrypoints.api import create_app
from novapulse_entrypoints.settings import Settings

from .conftest import PASSWORD, Account, add_user, make_settings, sign_up

SECRET = "a known secret, so that these tests can forge tokens; 64 bytes or more"
UNKNOWN_ID = "0" * 32
LONG_NAME = "n" * 201


@pytest.fixture
def settings() -> Settings:
    """The conftest's settings with a known JWT secret (overrides the `settings` fixture)."""
    return make_settings(NOVAPULSE_JWT_SECRET=SECRET)


def claims_of(account: Account, settings: Settings, **changes: Any) -> dict[str, Any]:
    """The claims the app writes into `account`'s token, with `changes` applied."""
    now = int(time.time())
    claims = {
        "sub": account.user_id,
        "company": account.company_id,
        "role": "owner",
        "jti": "forged",
        "iat": now,
        "exp": now + settings.access_token_ttl_seconds,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "amr": ["pwd"],
        "scope": "full",
    }
    return {**claims, **changes}


def unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def tampered(token: str) -> str:
    """A member's token with its role claim raised to owner and the signature left as it was."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "owner"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


@attrs.frozen
class World:
    """One company (an owner, a member, a department) and the credentials the table sends."""

    owner: Account
    member: Account
    department_id: str
    settings: Settings

    def headers_for(self, caller: str) -> dict[str, str]:
        if caller == "nobody":
            return {}
        if caller == "basic":
            return {"Authorization": "Basic b3duZXI6cGFzc3dvcmQ="}
        return {"Authorization": f"Bearer {self.token(caller)}"}

    def token(self, kind: str) -> str:
        claims = claims_of(self.owner, self.settings)
        match kind:
            case "owner" | "member":
                return str(getattr(self, kind).token)
            case "tampered":
                return tampered(self.member.token)
            case "alg-none":
                return unsigned(claims)
            case "other-secret":
                return jwt.encode(claims, "another secret, just as long as the app's own secret")
            case "other-algorithm":
                return jwt.encode(claims, SECRET, algorithm="HS512")
        return "not-a-jwt"


@pytest.fixture
def world(client: TestClient[Any], acme: Account, settings: Settings) -> World:
    member = add_user(client, acme, "member@acme.example", "member")
    created = client.post("/api/v1/departments", json={"name": "Research"}, headers=acme.headers)
    return World(acme, member, created.json()["id"], settings)


PROBLEM_TYPES = {
    400: "urn:novapulse:problem:invalid-request",
    401: "urn:novapulse:problem:unauthenticated",
    403: "urn:novapulse:problem:forbidden",
    404: "urn:novapulse:problem:not-found",
    405: "urn:novapulse:problem:method-not-allowed",
    409: "urn:novapulse:problem:conflict",
    413: "urn:novapulse:problem:payload-too-large",
    422: "urn:novapulse:problem:invalid",
}


def assert_problem(response: Response, status: int) -> dict[str, Any]:
    """A problem+json of `status` whose type, status and request id agree with the response."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == PROBLEM_TYPES[status]
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    return dict(body)


@attrs.frozen
class BadInput:
    method: str
    path: str
    status: int
    json: Any = None
    content: bytes | None = None
    params: dict[str, Any] | None = None
    caller: str = "owner"


def bad(label: str, *args: Any, **kwargs: Any) -> Any:
    return pytest.param(BadInput(*args, **kwargs), id=label)


USERS, DEPARTMENTS, COMPANIES = "/api/v1/users", "/api/v1/departments", "/api/v1/companies"
MFA_SETUP = "/api/v1/auth/mfa/setup"
MEMBER, UNKNOWN_USER = "/api/v1/users/{member_id}", "/api/v1/users/{unknown_id}"
NEW_USER = {"email": "new@acme.example", "name": "New", "password": PASSWORD}
SIGNUP = {
    "company_name": "Initech",
    "owner_email": "owner@initech.example",
    "owner_name": "Bill",
    "owner_password": PASSWORD,
}
TAKEN_SIGNUP = {**SIGNUP, "owner_email": "owner@acme.example"}
LOGIN = {"email": "owner@acme.example", "password": "wrong password"}
LONG_DESCRIPTION = {"name": "Ops", "description": "d" * 2001}

BAD_INPUTS = [
    # Bodies that are not JSON, or not the JSON the route reads.
    bad("malformed JSON", "POST", DEPARTMENTS, 400, content=b'{"name": "Ops"'),
    bad("not UTF-8", "POST", DEPARTMENTS, 400, content=b"\xff\xfe"),
    bad("missing body", "POST", DEPARTMENTS, 400),
    bad("array body", "POST", DEPARTMENTS, 400, json=["Ops"]),
    bad("number for a string", "POST", DEPARTMENTS, 400, json={"name": 42}),
    bad("list for a string", "PATCH", MEMBER, 400, json={"name": ["Ann"]}),
    bad("unknown role", "POST", USERS, 400, json={**NEW_USER, "role": "emperor"}),
    bad("unknown field", "POST", DEPARTMENTS, 400, json={"name": "Ops", "budget": 1}),
    bad(
        "unknown signup field", "POST", COMPANIES, 400, json={**SIGNUP, "plan": 1}, caller="nobody"
    ),
    bad("missing field", "POST", COMPANIES, 400, json={"company_name": "X"}, caller="nobody"),
    # Empty and oversized fields: the body's shape (400) or a domain rule (422).
    bad("empty name", "POST", DEPARTMENTS, 400, json={"name": ""}),
    bad("blank name", "POST", DEPARTMENTS, 422, json={"name": "   "}),
    bad("name over 200", "POST", DEPARTMENTS, 400, json={"name": LONG_NAME}),
    bad("user name over 200", "PATCH", MEMBER, 400, json={"name": LONG_NAME}),
    bad("company name over 200", "PATCH", "/api/v1/company", 400, json={"name": LONG_NAME}),
    bad("description over 2000", "POST", DEPARTMENTS, 400, json=LONG_DESCRIPTION),
    bad("email over 254", "POST", USERS, 400, json={**NEW_USER, "email": "e" * 250 + "@a.io"}),
    bad("malformed email", "POST", USERS, 422, json={**NEW_USER, "email": "not-an-email"}),
    bad("short password", "POST", USERS, 422, json={**NEW_USER, "password": "short"}),
    bad("password over 1024", "POST", USERS, 400, json={**NEW_USER, "password": "p" * 1025}),
    bad("id over 64", "GET", "/api/v1/users/" + "i" * 65, 400),
    # Query parameters.
    bad("limit 0", "GET", USERS, 400, params={"limit": 0}),
    bad("limit 1000", "GET", DEPARTMENTS, 400, params={"limit": 1000}),
    bad("limit not a number", "GET", USERS, 400, params={"limit": "ten"}),
    bad("active not a boolean", "GET", USERS, 400, params={"active": "maybe"}),
    bad("unknown role filter", "GET", USERS, 400, params={"role": "emperor"}),
    # Unknown records, routes and methods.
    bad("unknown user", "GET", UNKNOWN_USER, 404),
    bad("unknown user deactivated", "POST", UNKNOWN_USER + "/deactivate", 404),
    bad("unknown department", "PATCH", DEPARTMENTS + "/{unknown_id}", 404, json={"name": "O"}),
    bad("unknown member", "PUT", DEPARTMENTS + "/{department_id}/members/{unknown_id}", 404),
    bad("not a member", "DELETE", DEPARTMENTS + "/{department_id}/members/{member_id}", 404),
    bad("unknown route", "GET", "/api/v1/nowhere", 404),
    bad("unknown method", "PUT", "/api/v1/company", 405),
    # Clashes.
    bad("duplicate email", "POST", USERS, 409, json={**NEW_USER, "email": "member@acme.example"}),
    bad("duplicate department", "POST", DEPARTMENTS, 409, json={"name": "research"}),
    bad("duplicate owner email", "POST", COMPANIES, 409, json=TAKEN_SIGNUP, caller="nobody"),
    # Credentials and roles.
    bad("missing Authorization", "GET", USERS, 401, caller="nobody"),
    bad("not a bearer token", "GET", USERS, 401, caller="basic"),
    bad("not a JWT", "GET", USERS, 401, caller="garbage"),
    bad("tampered token", "POST", USERS, 401, json=NEW_USER, caller="tampered"),
    bad("alg none token", "GET", USERS, 401, caller="alg-none"),
    bad("token of another secret", "GET", USERS, 401, caller="other-secret"),
    bad("token of another algorithm", "GET", USERS, 401, caller="other-algorithm"),
    bad("wrong password", "POST", "/api/v1/auth/login", 401, json=LOGIN, caller="nobody"),
    # Who calls is asked before the input is judged: a caller without credentials learns
    # nothing of what the input should have been.
    bad("anonymous, body of the wrong shape", "POST", USERS, 401, json={"x": 1}, caller="nobody"),
    bad("anonymous, bad query", "GET", USERS, 401, params={"limit": "many"}, caller="nobody"),
    bad("anonymous, bad MFA setup body", "POST", MFA_SETUP, 401, json=[], caller="nobody"),
    bad("body not UTF-8", "POST", DEPARTMENTS, 400, content=b'{"name": "\xff"}'),
    bad(
        "anonymous, body not UTF-8",
        "POST",
        USERS,
        400,
        content=b'{"name": "\xff"}',
        caller="nobody",
    ),
    bad("member adds a user", "POST", USERS, 403, json=NEW_USER, caller="member"),
    bad("member adds a department", "POST", DEPARTMENTS, 403, json={"name": "O"}, caller="member"),
]


@pytest.mark.parametrize("bad_input", BAD_INPUTS)
def test_bad_input_gets_a_4xx_problem(
    client: TestClient[Any], world: World, bad_input: BadInput
) -> None:
    path = bad_input.path.format(
        member_id=world.member.user_id, department_id=world.department_id, unknown_id=UNKNOWN_ID
    )
    headers = world.headers_for(bad_input.caller)
    if bad_input.content is not None:
        headers["Content-Type"] = "application/json"
    response = client.request(
        bad_input.method,
        path,
        json=bad_input.json,
        content=bad_input.content,
        params=bad_input.params,
        headers=headers,
    )
    assert_problem(response, bad_input.status)


@pytest.mark.parametrize("path", [USERS, DEPARTMENTS, "/api/v1/webhooks", "/api/v1/jobs"])
def test_options_needs_no_token_as_a_cors_preflight_sends_none(
    client: TestClient[Any], path: str
) -> None:
    response = client.options(path)
    assert response.status_code == 204, response.text
    assert "OPTIONS" in response.headers["allow"]


def test_a_body_over_the_size_limit_gets_413(
    client: TestClient[Any], acme: Account, settings: Settings
) -> None:
    body = json.dumps({"name": "n" * settings.max_body_bytes}).encode()
    response = client.post(
        DEPARTMENTS, content=body, headers={**acme.headers, "Content-Type": "application/json"}
    )
    assert_problem(response, 413)


def test_a_token_forged_with_the_right_secret_is_accepted_so_each_refusal_is_earned(
    client: TestClient[Any], world: World
) -> None:
    honest = jwt.encode(claims_of(world.owner, world.settings), SECRET)
    response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {honest}"})
    assert response.status_code == 200, response.text


def test_a_token_past_its_expiry_and_the_leeway_gets_401() -> None:
    settings = make_settings(NOVAPULSE_JWT_SECRET=SECRET, NOVAPULSE_ACCESS_TOKEN_TTL_SECONDS="1")
    issued_at = int(time.time()) - 120  # beyond the 30 s the app allows for clock skew
    with TestClient(create_app(settings)) as client:
        owner = sign_up(client, "Acme")
        expired = jwt.encode(claims_of(owner, settings, iat=issued_at, exp=issued_at + 1), SECRET)
        fresh = jwt.encode(claims_of(owner, settings), SECRET)
        refused = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {expired}"})
        accepted = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {fresh}"})
    assert assert_problem(refused, 401)["detail"] == "the access token has expired"
    assert accepted.status_code == 200, accepted.text


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        pytest.param("req-42.retry:1_a", True, id="well-formed"),
        pytest.param("has spaces", False, id="spaces"),
        pytest.param("x" * 129, False, id="over 128"),
        pytest.param("", False, id="empty"),
        pytest.param("<script>", False, id="markup"),
    ],
)
def test_a_malformed_request_id_is_replaced_and_a_well_formed_one_echoed(
    client: TestClient[Any], sent: str, echoed: bool
) -> None:
    response = client.get(USERS, headers={"X-Request-ID": sent})
    assert_problem(response, 401)
    if echoed:
        assert response.headers["x-request-id"] == sent
    else:
        assert re.fullmatch("[0-9a-f]{32}", response.headers["x-request-id"])


def test_a_bad_query_parameter_is_named_as_it_was_sent(
    client: TestClient[Any], acme: Account
) -> None:
    response = client.get("/api/v1/jobs", params={"state": "bogus"}, headers=acme.headers)

    assert_problem(response, 400)
    (error,) = response.json()["errors"]
    assert (error["key"], error["source"]) == ("state", "query")


def test_a_missing_body_is_said_to_be_missing(client: TestClient[Any], acme: Account) -> None:
    response = client.post("/api/v1/departments", headers=acme.headers)

    assert_problem(response, 400)
    (error,) = response.json()["errors"]
    assert error["message"] == "a JSON body is required (`{}` at least)"
