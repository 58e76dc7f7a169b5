"""Asymmetric access tokens: other services verify them with the published JWKS alone."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from litestar.testing import TestClient

from novapulse_entrypoints.api import create_app

from .conftest import make_settings, sign_up


@pytest.mark.parametrize("algorithm", ["EdDSA", "RS256"])
def test_a_token_verifies_with_the_published_key_set_and_nothing_else(algorithm: str) -> None:
    with TestClient(create_app(make_settings(NOVAPULSE_JWT_ALGORITHM=algorithm))) as client:
        owner = sign_up(client, "Acme")
        key_set = client.get("/.well-known/jwks.json").json()
        me = client.get("/api/v1/users/me", headers=owner.headers)

    assert me.status_code == 200
    (key,) = key_set["keys"]
    assert key["alg"] == algorithm
    assert "d" not in key  # the private part never leaves
    header = jwt.get_unverified_header(owner.token)
    assert header["alg"] == algorithm
    assert header["kid"] == key["kid"]
    claims = jwt.decode(
        owner.token,
        jwt.PyJWK(key).key,
        algorithms=[algorithm],
        audience="novapulse-api",
        issuer="novapulse",
    )
    assert claims["sub"] == owner.user_id


def test_an_hmac_installation_publishes_no_keys(client: TestClient[Any]) -> None:
    assert client.get("/.well-known/jwks.json").json() == {"keys": []}


def test_a_token_signed_with_the_shared_secret_is_refused_where_eddsa_is_configured() -> None:
    with TestClient(create_app(make_settings(NOVAPULSE_JWT_ALGORITHM="EdDSA"))) as client:
        owner = sign_up(client, "Acme")
        claims = jwt.decode(owner.token, options={"verify_signature": False})
        forged = jwt.encode(claims, "a shared secret of more than thirty-two bytes", "HS256")
        response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
