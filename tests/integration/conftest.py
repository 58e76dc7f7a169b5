"""The wired app over HTTP: a Litestar test client on the embedded default."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from litestar.testing import TestClient

from novapulse_entrypoints.api import create_app
from novapulse_entrypoints.settings import Settings

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


def login(client: TestClient[Any], email: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def sign_up(client: TestClient[Any], company: str) -> Account:
    email = f"owner@{company.lower()}.example"
    response = client.post(
        "/api/v1/companies",
        json={
            "company_name": company,
            "owner_email": email,
            "owner_name": f"{company} Owner",
            "owner_password": PASSWORD,
        },
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
