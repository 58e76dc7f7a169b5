"""The job dashboard and sign-ups over HTTP, as the Redis job tests use them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar.testing import TestClient

from .conftest import PASSWORD, Account


def add_users(client: TestClient[Any], owner: Account, count: int) -> list[str]:
    """Add `count` members (each `user.created` enqueues a welcome email); their addresses."""
    emails = [f"user{n:02d}@{owner.email.partition('@')[2]}" for n in range(count)]
    for email in emails:
        response = client.post(
            "/api/v1/users",
            json={
                "email": email,
                "name": email.split("@")[0],
                "password": PASSWORD,
                "role": "member",
            },
            headers=owner.headers,
        )
        assert response.status_code == 201, response.text
    return emails


def jobs(client: TestClient[Any], owner: Account) -> list[dict[str, Any]]:
    response = client.get("/api/v1/jobs", params={"limit": 200}, headers=owner.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def job(client: TestClient[Any], owner: Account, job_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/jobs/{job_id}", headers=owner.headers)
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


def email_queue(client: TestClient[Any], owner: Account) -> dict[str, Any]:
    response = client.get("/api/v1/jobs/queues", headers=owner.headers)
    assert response.status_code == 200, response.text
    (status,) = [q for q in response.json() if q["queue"] == "email"]
    return dict(status)


def states(rows: list[dict[str, Any]]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for row in rows:
        counted[row["state"]] = counted.get(row["state"], 0) + 1
    return counted


def walk(detail: dict[str, Any]) -> list[tuple[str, int]]:
    return [(t["state"], t["attempt"]) for t in detail["transitions"]]


def moments(detail: dict[str, Any]) -> list[datetime]:
    return [datetime.fromisoformat(t["at"]) for t in detail["transitions"]]


def recipient(row: dict[str, Any], client: TestClient[Any], owner: Account) -> str:
    return str(job(client, owner, row["id"])["payload"]["to"])
