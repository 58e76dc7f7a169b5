"""The wired app over HTTP: a Litestar test client on the embedded default."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest
from litestar.testing import TestClient

from novapulse_entrypoints.api import create_app
from novapulse_entrypoints.settings import Settings
from support.redis_server import RedisServerUnavailable, private_redis_server

from .servers import FAST_HASHING

PASSWORD = "correct horse battery staple"


def make_settings(**overrides: str) -> Settings:
    return Settings.from_env({**FAST_HASHING, **overrides})


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@attrs.frozen
class Account:
    """A signed-up company seen from one of its users."""

    company_id: str
    user_id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def sign_up(client: httpx.Client, company: str, request_id: str | None = None) -> Account:
    """A new company and its owner, logged in (`client`: a TestClient or a client of a server)."""
    email = f"owner@{company.lower()}.example"
    response = client.post(
        "/api/v1/companies",
        json={
            "company_name": company,
            "owner_email": email,
            "owner_name": f"{company} Owner",
            "owner_password": PASSWORD,
        },
        headers={"X-Request-ID": request_id} if request_id else {},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(body["company"]["id"], body["owner"]["id"], email, login(client, email))


def add_user(client: TestClient[Any], by: Account, email: str, role: str) -> Account:
    response = client.post(
        "/api/v1/users",
        json={"email": email, "name": email.split("@")[0], "password": PASSWORD, "role": role},
        headers=by.headers,
    )
    assert response.status_code == 201, response.text
    return Account(by.company_id, response.json()["id"], email, login(client, email))


@pytest.fixture
def acme(client: TestClient[Any]) -> Account:
    return sign_up(client, "Acme")


@pytest.fixture
def globex(client: TestClient[Any]) -> Account:
    return sign_up(client, "Globex")


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    """A private redis-server for the tests of one module (CI fails without redis-server)."""
    try:
        with private_redis_server() as port:
            yield port
    except RedisServerUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(str(error))
        pytest.skip(str(error))
