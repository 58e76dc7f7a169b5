"""Route budgets with the IETF RateLimit headers, shared through Redis, failing open."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from novapulse_adapters.mongo import MongoConnection
from novapulse_entrypoints.api import create_app
from novapulse_entrypoints.container import build_container
from support.mongo_standin import new_standin_client

from .conftest import PASSWORD, add_user, make_settings, sign_up
from .servers import free_port, running_server

SECRET = "rate-limit-test-secret-of-at-least-32-bytes"
LIMITED = {
    "NOVAPULSE_RATE_LIMITS_ENABLED": "true",
    "NOVAPULSE_RATE_LIMIT_USER": "5/60",
    "NOVAPULSE_RATE_LIMIT_COMPANY": "1000/60",
    "NOVAPULSE_RATE_LIMIT_ANONYMOUS": "4/60",
    "NOVAPULSE_RATE_LIMIT_LOGIN": "3/60",
    "NOVAPULSE_JWT_SECRET": SECRET,
    "NOVAPULSE_MFA_KEY": base64.b64encode(b"k" * 32).decode(),
}


class RedisProcess:
    """A redis-server on a fixed free port that a test can stop and start again."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if os.environ.get("CI"):
                pytest.fail("redis-server is not installed")
            pytest.skip("redis-server is not installed")
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while (
            subprocess.run(  # noqa: S603
                ["redis-cli", "-p", str(self.port), "ping"],  # noqa: S607
                capture_output=True,
                check=False,
            ).stdout.strip()
            != b"PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def redis() -> Iterator[RedisProcess]:
    server = RedisProcess()
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.stop()


def app(**extra: str) -> TestClient[Any]:
    return TestClient(create_app(make_settings(**{**LIMITED, **extra})))


def app_on_shared_stores(redis_url: str, standin: Any) -> TestClient[Any]:
    """An API process whose users live in one shared (stand-in) MongoDB, as a second node's."""
    settings = make_settings(
        **{
            **LIMITED,
            "NOVAPULSE_REDIS_URL": redis_url,
            "NOVAPULSE_MONGO_URL": "mongodb://stand-in",
        }
    )
    container = build_container(settings)
    container.mongo.override(providers.Object(MongoConnection(client=standin)))
    return TestClient(create_app(settings, container))


def test_a_user_past_its_budget_gets_429_with_retry_after_and_ratelimit_headers() -> None:
    with app() as client:
        owner = sign_up(client, "Acme")
        answers = [client.get("/api/v1/users/me", headers=owner.headers) for _ in range(6)]

    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert answers[0].headers["ratelimit-policy"].startswith('"user";q=5;w=60')
    remaining = [a.headers["ratelimit"].split(";")[1] for a in answers[:5]]
    assert remaining == ["r=4", "r=3", "r=2", "r=1", "r=0"]
    refused = answers[5]
    assert len(refused.headers.get_list("ratelimit")) == 1
    assert len(refused.headers.get_list("ratelimit-policy")) == 1
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:novapulse:problem:rate-limited"
    assert 0 < int(refused.headers["retry-after"]) <= 60


def test_login_has_its_own_tighter_budget_and_health_has_none() -> None:
    with app() as client:
        owner = sign_up(client, "Acme")
        logins = [
            client.post(
                "/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD}
            ).status_code
            for _ in range(3)
        ]
        health = [client.get("/api/v1/health/live").status_code for _ in range(10)]
    assert logins == [200, 200, 429]  # the sign-up's own login spent the first of three
    assert health == [200] * 10


@pytest.mark.parametrize("path", ["/api/v1//auth/login", "/api/v1/auth//login"])
def test_a_login_on_a_path_with_doubled_slashes_spends_the_login_budget(path: str) -> None:
    """The router finds the login handler on such a path: so must the budgets, even for a
    caller sending its own bearer token (whose user budget is far larger)."""
    with app() as client:
        attacker = sign_up(client, "Evil")
        statuses = [
            client.post(
                path,
                json={"email": f"victim{n}@example.com", "password": "guess guess"},
                headers=attacker.headers,
            ).status_code
            for n in range(3)
        ]
    assert statuses == [401, 401, 429]  # the sign-up's own login spent the first of three


def test_the_operator_pages_files_are_not_limited_but_anonymous_api_calls_are() -> None:
    with app() as client:
        pages = [client.get(path).status_code for path in ("/ui/", "/ui/jobs") * 5]
        assets = [client.get("/ui/assets/api.js").status_code for _ in range(5)]
        anonymous = [client.get("/api/v1/users/me").status_code for _ in range(5)]
    assert pages == [200] * 10
    assert assets == [200] * 5
    assert anonymous == [401] * 4 + [429]


def test_two_api_processes_on_one_redis_share_one_budget(redis: RedisProcess) -> None:
    standin = new_standin_client()
    with (
        app_on_shared_stores(redis.url, standin) as first,
        app_on_shared_stores(redis.url, standin) as second,
    ):
        owner = sign_up(first, "Acme")
        statuses = [
            (first if n % 2 else second).get("/api/v1/users/me", headers=owner.headers).status_code
            for n in range(6)
        ]
    assert statuses == [200] * 5 + [429]


def fail_opens(client: TestClient[Any]) -> float:
    total = 0.0
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("novapulse_rate_limit_fail_open_total"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_with_redis_stopped_requests_are_served_fail_opens_counted_and_ready_is_false(
    redis: RedisProcess,
) -> None:
    with app(NOVAPULSE_REDIS_URL=redis.url, NOVAPULSE_RATE_LIMIT_USER="1000/60") as client:
        owner = sign_up(client, "Acme")
        assert client.get("/api/v1/health/ready").status_code == 200
        before = fail_opens(client)

        redis.stop()
        served = [client.get("/api/v1/users/me", headers=owner.headers) for _ in range(3)]
        ready = client.get("/api/v1/health/ready")

        assert [s.status_code for s in served] == [200] * 3
        assert "ratelimit" not in served[0].headers
        assert fail_opens(client) >= before + 3
        assert ready.status_code == 503
        assert ready.json()["down"] == ["redis"]

        redis.start()
        deadline = time.monotonic() + 15
        while client.get("/api/v1/health/ready").status_code != 200:
            assert time.monotonic() < deadline, "readiness did not recover"
            time.sleep(0.2)
        again = client.get("/api/v1/users/me", headers=owner.headers)
        assert again.status_code == 200
        assert again.headers["ratelimit-policy"].startswith('"user"')


def test_a_user_refused_for_its_own_budget_spends_nothing_of_its_companys() -> None:
    with app(NOVAPULSE_RATE_LIMIT_COMPANY="8/60") as client:
        owner = sign_up(client, "Acme")
        colleague = add_user(client, owner, "cole@acme.example", "member")
        mine = [client.get("/api/v1/users/me", headers=owner.headers).status_code for _ in range(9)]
        theirs = client.get("/api/v1/users/me", headers=colleague.headers)
    # the owner's sign-up and add_user calls spent 1 of its 5; 4 more pass, the rest are refused
    assert mine == [200] * 4 + [429] * 5
    assert theirs.status_code == 200


def _anonymous_statuses(base: str, forwarded_for: str | None, times: int) -> list[int]:
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    statuses = []
    for _ in range(times):
        request = urllib.request.Request(f"{base}/api/v1/users/me", headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10):  # noqa: S310
                statuses.append(200)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    return statuses


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_anonymous_budget() -> None:
    env = {**LIMITED, "NOVAPULSE_TRUSTED_PROXIES": "127.0.0.1/32"}
    with running_server(env=env) as server:
        first = _anonymous_statuses(server.base, "198.51.100.1", 5)
        second = _anonymous_statuses(server.base, "198.51.100.2", 5)
        same_slash_64 = [
            *_anonymous_statuses(server.base, "2001:db8:1:2::1", 2),
            *_anonymous_statuses(server.base, "2001:db8:1:2::ffff", 3),
        ]
    assert first == [401] * 4 + [429]
    assert second == [401] * 4 + [429]
    assert same_slash_64 == [401] * 4 + [429]


def test_without_trusted_proxies_a_forwarded_address_changes_nothing() -> None:
    with running_server(env=LIMITED) as server:
        spoofing = [
            status
            for n in range(5)
            for status in _anonymous_statuses(server.base, f"198.51.100.{n}", 1)
        ]
    assert spoofing == [401] * 4 + [429]
