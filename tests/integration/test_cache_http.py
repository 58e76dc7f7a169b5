"""The seed's cache behind the API: stats, profiles and member lists, invalidated by events."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from .conftest import Account, add_user
from .test_cli import novapulse


def lookups(client: TestClient[Any], result: str) -> float:
    total = 0.0
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("novapulse_cache_lookups_total{") and f'result="{result}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_stats_are_served_from_the_cache_and_fresh_after_a_change(
    client: TestClient[Any], acme: Account
) -> None:
    first = client.get("/api/v1/company/stats", headers=acme.headers).json()
    hits = lookups(client, "hit")
    again = client.get("/api/v1/company/stats", headers=acme.headers).json()
    assert again == first
    assert lookups(client, "hit") == hits + 1

    add_user(client, acme, "dana@acme.example", "member")
    fresh = client.get("/api/v1/company/stats", headers=acme.headers).json()
    assert fresh["active_users_by_role"]["member"] == first["active_users_by_role"]["member"] + 1


def test_a_department_member_list_follows_membership_changes(
    client: TestClient[Any], acme: Account
) -> None:
    dana = add_user(client, acme, "dana@acme.example", "member")
    department = client.post(
        "/api/v1/departments", json={"name": "Research"}, headers=acme.headers
    ).json()["id"]
    members = f"/api/v1/departments/{department}/members"
    assert client.get(members, headers=acme.headers).json()["items"] == []

    client.put(f"{members}/{dana.user_id}", headers=acme.headers)
    listed = client.get(members, headers=acme.headers).json()["items"]
    assert [u["id"] for u in listed] == [dana.user_id]


def test_an_admin_clears_the_company_cache(client: TestClient[Any], acme: Account) -> None:
    client.get("/api/v1/company/stats", headers=acme.headers)
    client.get("/api/v1/users/me", headers=acme.headers)
    cleared = client.delete("/api/v1/company/cache", headers=acme.headers)
    assert cleared.status_code == 200
    assert cleared.json()["cleared"] >= 2
    misses = lookups(client, "miss")
    client.get("/api/v1/company/stats", headers=acme.headers)
    assert lookups(client, "miss") == misses + 1


def test_a_member_cannot_clear_the_cache(client: TestClient[Any], acme: Account) -> None:
    member = add_user(client, acme, "mia@acme.example", "member")
    assert client.delete("/api/v1/company/cache", headers=member.headers).status_code == 403


def test_the_cli_cache_clear_needs_a_shared_cache() -> None:
    result = novapulse("cache", "clear")
    assert result.returncode == 2
    assert "NOVAPULSE_REDIS_URL" in result.stderr
