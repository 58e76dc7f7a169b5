"""Webhooks wired end to end: HTTP in, event, fan-out, webhook queue, worker, signed POST out."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from standardwebhooks import Webhook

from novapulse_core.domain.webhook_signing import verify_webhook
from novapulse_entrypoints.api import create_app

from .conftest import Account, add_user, make_settings, sign_up
from .servers import free_port


class Receiver:
    """A real HTTP receiver on 127.0.0.1 that records raw bodies and headers."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[bytes, dict[str, str]]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((body, dict(self.headers.items())))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return None

        self.port = free_port()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.02)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.close()


@pytest.fixture
def app_client() -> Iterator[TestClient[Any]]:
    settings = make_settings(NOVAPULSE_WEBHOOK_ALLOW_LIST="127.0.0.1/32")
    with TestClient(create_app(settings)) as client:
        yield client


def subscribe(client: TestClient[Any], owner: Account, url: str, *events: str) -> dict[str, Any]:
    created = client.post(
        "/api/v1/webhooks", json={"url": url, "event_types": list(events)}, headers=owner.headers
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_a_domain_event_reaches_the_receiver_signed_both_ways(
    app_client: TestClient[Any], receiver: Receiver
) -> None:
    owner = sign_up(app_client, "Acme")
    created = subscribe(app_client, owner, receiver.url, "user.created")
    secret = created["secret"]
    endpoint_id = created["endpoint"]["id"]
    assert (
        "secret"
        not in app_client.get(f"/api/v1/webhooks/{endpoint_id}", headers=owner.headers).json()
    )

    add_user(app_client, owner, "dana@acme.example", "member")
    eventually(lambda: len(receiver.received) == 1)

    body, headers = receiver.received[0]
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-NovaPulse-Signature"], expected)
    assert headers["X-NovaPulse-Event"] == "user.created"
    assert headers["X-NovaPulse-Webhook-Id"] == endpoint_id
    lowered = {k.lower(): v for k, v in headers.items()}
    envelope = Webhook(secret).verify(body, lowered)
    assert envelope["type"] == "user.created"
    assert envelope["company_id"] == owner.company_id
    assert envelope["data"]["email"] == "dana@acme.example"
    verify_webhook(body, headers, secret, require_timestamp=True)

    def deliveries() -> list[tuple[str, str]]:
        listed = app_client.get(
            f"/api/v1/webhooks/{endpoint_id}/deliveries", headers=owner.headers
        ).json()["items"]
        return [(d["event_type"], d["status"]) for d in listed]

    # The receiver holds the body before it answers; the outcome is recorded after the answer.
    eventually(lambda: deliveries() != [("user.created", "pending")])
    assert deliveries() == [("user.created", "succeeded")]


def test_a_private_address_is_refused_without_the_allow_list(
    client: TestClient[Any], acme: Account
) -> None:
    response = client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks"}, headers=acme.headers
    )
    assert response.status_code == 422
    assert response.json()["field"] == "url"


def test_a_test_event_and_a_redelivery_arrive_and_a_rotated_secret_verifies_both_ways(
    app_client: TestClient[Any], receiver: Receiver
) -> None:
    owner = sign_up(app_client, "Acme")
    created = subscribe(app_client, owner, receiver.url, "user.created")
    old, endpoint_id = created["secret"], created["endpoint"]["id"]
    rotated = app_client.post(
        f"/api/v1/webhooks/{endpoint_id}/rotate-secret",
        json={"grace_seconds": 3600},
        headers=owner.headers,
    ).json()
    new = rotated["secret"]

    sent = app_client.post(
        f"/api/v1/webhooks/{endpoint_id}/test",
        json={"data": {"hello": "world"}},
        headers=owner.headers,
    )
    assert sent.status_code == 202
    eventually(lambda: len(receiver.received) == 1)
    body, headers = receiver.received[0]
    lowered = {k.lower(): v for k, v in headers.items()}
    assert Webhook(old).verify(body, lowered)["type"] == "webhook.test"
    assert Webhook(new).verify(body, lowered)["data"] == {"hello": "world"}

    delivery_id = sent.json()["id"]
    eventually(
        lambda: (
            app_client.get(
                f"/api/v1/webhook-deliveries/{delivery_id}", headers=owner.headers
            ).json()["status"]
            == "succeeded"
        )
    )
    again = app_client.post(
        f"/api/v1/webhook-deliveries/{delivery_id}/redeliver", headers=owner.headers
    )
    assert again.status_code == 202
    eventually(lambda: len(receiver.received) == 2)
    assert receiver.received[1][0] == body  # the same bytes, the same webhook-id
    attempts = app_client.get(
        f"/api/v1/webhook-deliveries/{delivery_id}/attempts", headers=owner.headers
    ).json()["items"]
    assert [a["status_code"] for a in attempts] == [200, 200]


def _nested(depth: int) -> dict[str, Any]:
    data: dict[str, Any] = {"a": 1}
    for _ in range(depth):
        data = {"a": data}
    return data


@pytest.mark.parametrize(
    "data", [{"n": 2**70}, _nested(300)], ids=["integer-beyond-64-bits", "nested-300-deep"]
)
def test_test_event_data_that_cannot_be_sent_as_json_is_a_422_naming_data(
    app_client: TestClient[Any], receiver: Receiver, data: dict[str, Any]
) -> None:
    owner = sign_up(app_client, "Acme")
    endpoint_id = subscribe(app_client, owner, receiver.url)["endpoint"]["id"]

    sent = app_client.post(
        f"/api/v1/webhooks/{endpoint_id}/test", json={"data": data}, headers=owner.headers
    )

    assert sent.status_code == 422, sent.text
    assert sent.json()["field"] == "data"


def test_a_company_never_sees_another_companys_endpoints(
    app_client: TestClient[Any], receiver: Receiver
) -> None:
    acme, globex = sign_up(app_client, "Acme"), sign_up(app_client, "Globex")
    endpoint_id = subscribe(app_client, acme, receiver.url)["endpoint"]["id"]
    for method, path in [
        ("GET", f"/api/v1/webhooks/{endpoint_id}"),
        ("PATCH", f"/api/v1/webhooks/{endpoint_id}"),
        ("DELETE", f"/api/v1/webhooks/{endpoint_id}"),
        ("POST", f"/api/v1/webhooks/{endpoint_id}/test"),
    ]:
        response = app_client.request(method, path, json={}, headers=globex.headers)
        assert response.status_code == 404, (method, path, response.text)
    assert app_client.get("/api/v1/webhooks", headers=globex.headers).json()["items"] == []
