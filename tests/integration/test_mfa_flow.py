"""The seed's authentication flow over HTTP: enrol, challenge, verify, refresh, reuse, logout."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pyotp
from litestar.testing import TestClient

from .conftest import PASSWORD, Account, add_user, login

STEP = 30


def post(client: TestClient[Any], path: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(f"/api/v1{path}", json=body, headers=headers)


def enrol(client: TestClient[Any], token: str) -> tuple[pyotp.TOTP, list[str]]:
    """Set up MFA with a full session: the current password goes with the setup."""
    setup = post(client, "/auth/mfa/setup", {"password": PASSWORD}, token)
    assert setup.status_code == 200, setup.text
    body = setup.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert body["qr_svg"].startswith("<svg")
    totp = pyotp.TOTP(body["secret"])
    confirmed = post(client, "/auth/mfa/confirm", {"code": totp.now()}, token)
    assert confirmed.status_code == 200, confirmed.text
    return totp, confirmed.json()["recovery_codes"]


def next_code(totp: pyotp.TOTP) -> str:
    """The next step's code: accepted (one step of drift), and not the one just spent."""
    return str(totp.at(time.time() + STEP))


def test_the_seed_flow_enrol_challenge_verify_refresh_reuse_logout(
    client: TestClient[Any], acme: Account
) -> None:
    totp, recovery_codes = enrol(client, acme.token)
    assert len(recovery_codes) == 10
    status = client.get("/api/v1/auth/mfa", headers=acme.headers).json()
    assert status == {**status, "enabled": True, "recovery_codes_left": 10}

    assert post(client, "/auth/logout", {}, acme.token).status_code == 204
    assert client.get("/api/v1/users/me", headers=acme.headers).status_code == 401

    challenge = post(client, "/auth/login", {"email": acme.email, "password": PASSWORD})
    assert challenge.status_code == 200
    assert challenge.json()["status"] == "mfa_required"
    assert "access_token" not in challenge.json()

    answer = {"challenge_token": challenge.json()["challenge_token"], "code": next_code(totp)}
    session = post(client, "/auth/mfa/verify", answer)
    assert session.status_code == 200, session.text
    tokens = session.json()
    assert tokens["amr"] == ["pwd", "otp"]
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp"]
    me = client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.json()["id"] == acme.user_id

    assert post(client, "/auth/mfa/verify", answer).status_code == 401  # the challenge is spent

    rotated = post(client, "/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]

    reused = post(client, "/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401
    family_gone = post(client, "/auth/refresh", {"refresh_token": new["refresh_token"]})
    assert family_gone.status_code == 401

    assert post(client, "/auth/logout", {}, new["access_token"]).status_code == 204
    after = client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {new['access_token']}"}
    )
    assert after.status_code == 401


def test_a_code_is_accepted_once_and_a_recovery_code_works_once(
    client: TestClient[Any], acme: Account
) -> None:
    totp, recovery_codes = enrol(client, acme.token)

    def challenge() -> str:
        body = post(client, "/auth/login", {"email": acme.email, "password": PASSWORD}).json()
        return str(body["challenge_token"])

    code = next_code(totp)
    first = post(client, "/auth/mfa/verify", {"challenge_token": challenge(), "code": code})
    assert first.status_code == 200
    replay = post(client, "/auth/mfa/verify", {"challenge_token": challenge(), "code": code})
    assert replay.status_code == 401
    assert replay.json()["detail"] == "the code is not valid"

    spare = recovery_codes[0]
    used = post(
        client, "/auth/mfa/verify", {"challenge_token": challenge(), "recovery_code": spare}
    )
    assert used.status_code == 200
    again = post(
        client, "/auth/mfa/verify", {"challenge_token": challenge(), "recovery_code": spare}
    )
    assert again.status_code == 401
    left = client.get("/api/v1/auth/mfa", headers=acme.headers).json()["recovery_codes_left"]
    assert left == 9


def test_a_role_that_requires_mfa_is_sent_to_enrol_before_full_access(
    client: TestClient[Any], acme: Account
) -> None:
    member = add_user(client, acme, "mia@acme.example", "member")
    policy = client.put(
        "/api/v1/company/mfa-policy", json={"required_roles": ["member"]}, headers=acme.headers
    )
    assert policy.json()["mfa_required_roles"] == ["member"]

    outcome = post(client, "/auth/login", {"email": member.email, "password": PASSWORD}).json()
    assert outcome["status"] == "mfa_enrollment_required"
    enrolment = outcome["enrollment_token"]
    blocked = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {enrolment}"})
    assert blocked.status_code == 403

    setup = client.post(
        "/api/v1/auth/mfa/setup", headers={"Authorization": f"Bearer {enrolment}"}
    ).json()  # no password and no body: the login just proved the password
    code = pyotp.TOTP(setup["secret"]).now()
    confirmed = post(client, "/auth/mfa/confirm", {"code": code}, enrolment).json()
    session = confirmed["session"]
    assert session["amr"] == ["pwd", "otp"]
    full = {"Authorization": f"Bearer {session['access_token']}"}
    assert client.get("/api/v1/users/me", headers=full).json()["id"] == member.user_id
    spent = client.get("/api/v1/auth/mfa", headers={"Authorization": f"Bearer {enrolment}"})
    assert spent.status_code == 401


def test_starting_mfa_setup_with_a_full_session_needs_the_current_password(
    client: TestClient[Any], acme: Account
) -> None:
    missing = post(client, "/auth/mfa/setup", {}, acme.token)
    assert missing.status_code == 422
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "current password is needed" in missing.json()["detail"]
    no_body = client.post("/api/v1/auth/mfa/setup", headers=acme.headers)
    assert no_body.status_code == 422

    wrong = post(client, "/auth/mfa/setup", {"password": "not it"}, acme.token)
    assert wrong.status_code == 401
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json()["detail"] == "the current password is wrong"
    status = client.get("/api/v1/auth/mfa", headers=acme.headers).json()
    assert status["pending"] is False, "no setup was started"

    right = post(client, "/auth/mfa/setup", {"password": PASSWORD}, acme.token)
    assert right.status_code == 200, right.text
    assert client.get("/api/v1/auth/mfa", headers=acme.headers).json()["pending"] is True


def test_wrong_passwords_at_mfa_setup_share_the_login_budget(
    client: TestClient[Any], acme: Account
) -> None:
    statuses = [
        post(client, "/auth/mfa/setup", {"password": f"guess {n}"}, acme.token).status_code
        for n in range(5)
    ]
    assert statuses == [401] * 5
    refused = post(client, "/auth/mfa/setup", {"password": PASSWORD}, acme.token)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    login_refused = post(client, "/auth/login", {"email": acme.email, "password": PASSWORD})
    assert login_refused.status_code == 429


def test_the_setup_body_is_documented_with_its_password(client: TestClient[Any]) -> None:
    document = client.get("/schema/openapi.json").json()
    operation = document["paths"]["/api/v1/auth/mfa/setup"]["post"]
    body = operation["requestBody"]
    assert body.get("required") is not True
    schema = body["content"]["application/json"]["schema"]
    assert "MfaSetupRequest" in json.dumps(schema)
    setup_request = document["components"]["schemas"]["MfaSetupRequest"]
    assert "password" in setup_request["properties"]
    assert "password" not in setup_request.get("required", [])


def test_disabling_mfa_needs_the_password_and_a_current_code(
    client: TestClient[Any], acme: Account
) -> None:
    totp, _ = enrol(client, acme.token)
    wrong = post(
        client, "/auth/mfa/disable", {"password": "not it", "code": next_code(totp)}, acme.token
    )
    assert wrong.status_code == 422
    done = post(
        client, "/auth/mfa/disable", {"password": PASSWORD, "code": next_code(totp)}, acme.token
    )
    assert done.status_code == 204
    assert login(client, acme.email)  # a plain session again, no challenge


def test_repeated_wrong_passwords_are_refused_with_429_and_retry_after(
    client: TestClient[Any], acme: Account
) -> None:
    statuses = [
        post(client, "/auth/login", {"email": acme.email, "password": f"wrong {n}"}).status_code
        for n in range(5)
    ]
    assert statuses == [401] * 5
    refused = post(client, "/auth/login", {"email": acme.email, "password": PASSWORD})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    unknown = post(client, "/auth/login", {"email": "nobody@acme.example", "password": "x"})
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "invalid email or password"
