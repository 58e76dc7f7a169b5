"""Liveness, readiness naming what is down, and a MongoDB outage that crashes nothing."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from novapulse_adapters.mongo import MongoConnection
from novapulse_entrypoints.api import create_app
from novapulse_entrypoints.container import build_container
from support.mongo_standin import new_standin_client

from .conftest import PASSWORD, make_settings
from .servers import Server, free_port, running_server

SECRET = "integration-test-secret-of-at-least-32-bytes"
MFA_KEY = base64.b64encode(b"k" * 32).decode()


@pytest.fixture(scope="module")
def server_on_unreachable_mongo() -> Iterator[Server]:
    """A real `novapulse serve` process (Beanie binds documents per process, so a test process
    that already bound them elsewhere cannot stand for a fresh node facing an outage)."""
    env = {
        "NOVAPULSE_MONGO_URL": f"mongodb://127.0.0.1:{free_port()}",
        "NOVAPULSE_MONGO_TIMEOUT_MS": "200",
        "NOVAPULSE_JWT_SECRET": SECRET,
        "NOVAPULSE_MFA_KEY": MFA_KEY,
    }
    with running_server(env=env) as server:
        yield server


@pytest.fixture
def app_on_standin_mongo() -> Iterator[TestClient[Any]]:
    settings = make_settings(
        NOVAPULSE_MONGO_URL="mongodb://stand-in",
        NOVAPULSE_JWT_SECRET=SECRET,
        NOVAPULSE_MFA_KEY=MFA_KEY,
    )
    container = build_container(settings)
    container.mongo.override(providers.Object(MongoConnection(client=new_standin_client())))
    with TestClient(create_app(settings, container)) as client:
        yield client


def test_the_process_is_live(client: TestClient[Any]) -> None:
    response = client.get("/api/v1/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_the_embedded_default_is_ready_with_nothing_to_check(client: TestClient[Any]) -> None:
    response = client.get("/api/v1/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {}}


def test_readiness_names_an_unreachable_mongodb(server_on_unreachable_mongo: Server) -> None:
    response = httpx.get(f"{server_on_unreachable_mongo.base}/api/v1/health/ready")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"mongo": "down"},
        "down": ["mongo"],
    }
    assert httpx.get(f"{server_on_unreachable_mongo.base}/api/v1/health/live").status_code == 200


def test_a_write_while_mongodb_is_down_is_a_503_problem_not_a_crash(
    server_on_unreachable_mongo: Server,
) -> None:
    response = httpx.post(
        f"{server_on_unreachable_mongo.base}/api/v1/companies",
        json={
            "company_name": "Acme",
            "owner_email": "ann@acme.example",
            "owner_name": "Ann",
            "owner_password": PASSWORD,
        },
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:novapulse:problem:unavailable"
    assert "x-request-id" in response.headers


def test_the_api_on_mongodb_is_ready_and_serves_sign_up_and_login(
    app_on_standin_mongo: TestClient[Any],
) -> None:
    client = app_on_standin_mongo
    ready = client.get("/api/v1/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"mongo": "up"}
    signup = client.post(
        "/api/v1/companies",
        json={
            "company_name": "Acme",
            "owner_email": "ann@acme.example",
            "owner_name": "Ann",
            "owner_password": PASSWORD,
        },
    )
    assert signup.status_code == 201, signup.text
    login = client.post(
        "/api/v1/auth/login", json={"email": "ANN@acme.example", "password": PASSWORD}
    )
    assert login.status_code == 200
    me = client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.json()["id"] == signup.json()["owner"]["id"]
