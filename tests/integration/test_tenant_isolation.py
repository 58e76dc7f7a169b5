"""Tenant isolation over HTTP: an owner of one company, whatever ids it sends, never reads, lists
or changes a record of another company, and cannot even tell that the record exists."""

from __future__ import annotations

import itertools
import re
from typing import Any
from urllib.parse import quote

import attrs
import pytest
from httpx import Response
from hypothesis import example, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from novapulse_entrypoints.api import create_app

from .conftest import Account, add_user, make_settings, sign_up

UNKNOWN_ID = "0" * 32
ISOLATION_EXAMPLES = settings(max_examples=30, derandomize=True, database=None, deadline=None)


@attrs.frozen
class Route:
    method: str
    template: str
    body: dict[str, Any] | None = None

    @property
    def slots(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.template)

    def __str__(self) -> str:
        return f"{self.method} {self.template}"

    def path(self, ids: dict[str, str]) -> str:
        return self.template.format(**{slot: quote(value, safe="") for slot, value in ids.items()})


@attrs.frozen
class Tenant:
    """A company with an owner, a member and a department holding the member."""

    owner: Account
    member: Account
    department_id: str
    department_name: str

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(
            {self.owner.company_id, self.owner.user_id, self.member.user_id, self.department_id}
        )

    @property
    def secrets(self) -> frozenset[str]:
        return self.ids | {self.owner.email, self.member.email}

    def ids_for(self, slot: str) -> list[str]:
        """The real ids that fit a path slot: users for `user_id`, the department otherwise."""
        if slot == "user_id":
            return sorted([self.owner.user_id, self.member.user_id])
        return [self.department_id]


def found_tenant(client: TestClient[Any], company: str) -> Tenant:
    owner = sign_up(client, company)
    member = add_user(client, owner, f"member@{company.lower()}.example", "member")
    name = f"{company} Research"
    created = client.post("/api/v1/departments", json={"name": name}, headers=owner.headers)
    department_id = created.json()["id"]
    added = client.put(
        f"/api/v1/departments/{department_id}/members/{member.user_id}", headers=owner.headers
    )
    assert added.status_code == 200, added.text
    return Tenant(owner, member, department_id, name)


ID_ROUTES = [
    Route("GET", "/api/v1/users/{user_id}"),
    Route("PATCH", "/api/v1/users/{user_id}", {"name": "Taken Over"}),
    Route("PUT", "/api/v1/users/{user_id}/role", {"role": "member"}),
    Route("POST", "/api/v1/users/{user_id}/deactivate"),
    Route("POST", "/api/v1/users/{user_id}/reactivate"),
    Route("GET", "/api/v1/departments/{department_id}"),
    # Renaming to the other company's department name must not clash: names are per company.
    Route("PATCH", "/api/v1/departments/{department_id}", {"name": "Globex Research"}),
    Route("DELETE", "/api/v1/departments/{department_id}"),
    Route("GET", "/api/v1/departments/{department_id}/members"),
    Route("PUT", "/api/v1/departments/{department_id}/members/{user_id}"),
    Route("DELETE", "/api/v1/departments/{department_id}/members/{user_id}"),
]


def id_for(slot: str, attacker: Tenant, victim: Tenant) -> st.SearchStrategy[str]:
    """The victim's and the attacker's ids (of the slot's kind first), or a made-up string."""
    made_up = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=64)
    return st.one_of(
        st.sampled_from(victim.ids_for(slot)),
        st.sampled_from(attacker.ids_for(slot)),
        st.sampled_from(sorted(victim.ids | attacker.ids)),
        made_up.filter(lambda text: "/" not in text and text.strip(".") != ""),
    )


def cross_tenant_examples(route: Route, attacker: Tenant, victim: Tenant) -> list[dict[str, str]]:
    """Every mix of real ids that names at least one of the victim's records."""
    choices = [victim.ids_for(slot) + attacker.ids_for(slot) for slot in route.slots]
    return [
        dict(zip(route.slots, mix, strict=True))
        for mix in itertools.product(*choices)
        if victim.ids & set(mix)
    ]


def call(client: TestClient[Any], by: Account, route: Route, ids: dict[str, str]) -> Response:
    return client.request(route.method, route.path(ids), json=route.body, headers=by.headers)


def visible_text(response: Response) -> str:
    """The body, less the problem's `instance` (which only echoes the path the caller sent)."""
    if not response.content:
        return ""
    body = response.json()
    if isinstance(body, dict):
        body.pop("instance", None)
    return str(body)


def leaked(victim: Tenant, text: str) -> list[str]:
    return [secret for secret in victim.secrets if secret in text]


def problem_of(response: Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["type"], body["detail"]


def read_everything(client: TestClient[Any], by: Account) -> dict[str, Any]:
    """All a company's data as its own owner reads it."""
    seen: dict[str, Any] = {}
    for path in ("/api/v1/company", "/api/v1/company/stats"):
        seen[path] = client.get(path, headers=by.headers).json()
    for kind in ("users", "departments"):
        listing = client.get(f"/api/v1/{kind}", params={"limit": 200}, headers=by.headers).json()
        seen[kind] = listing
        for item in listing["items"]:
            path = f"/api/v1/{kind}/{item['id']}"
            seen[path] = client.get(path, headers=by.headers).json()
    for department in seen["departments"]["items"]:
        path = f"/api/v1/departments/{department['id']}/members"
        seen[path] = client.get(path, headers=by.headers).json()
    return seen


@pytest.mark.parametrize("route", ID_ROUTES, ids=str)
def test_an_owner_reaches_nothing_of_another_company_whatever_ids_it_sends(route: Route) -> None:
    with TestClient(create_app(make_settings())) as client:
        acme, globex = found_tenant(client, "Acme"), found_tenant(client, "Globex")
        globex_before = read_everything(client, globex.owner)

        @ISOLATION_EXAMPLES
        @given(st.fixed_dictionaries({slot: id_for(slot, acme, globex) for slot in route.slots}))
        def acme_owner_calls(sent: dict[str, str]) -> None:
            response = call(client, acme.owner, route, sent)
            assert response.status_code < 500, response.text
            assert not leaked(globex, visible_text(response)), response.text
            if globex.ids & set(sent.values()):
                assert response.status_code == 404, response.text
                unknown = {slot: UNKNOWN_ID if v in globex.ids else v for slot, v in sent.items()}
                stranger = call(client, acme.owner, route, unknown)
                assert problem_of(response) == problem_of(stranger)

        for sent in cross_tenant_examples(route, acme, globex):
            acme_owner_calls = example(sent)(acme_owner_calls)
        acme_owner_calls()
        assert read_everything(client, globex.owner) == globex_before


def listed_ids(
    client: TestClient[Any], by: Account, path: str, limit: int, after: str
) -> list[str]:
    response = client.get(path, params={"limit": limit, "after": after}, headers=by.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_an_owners_lists_hold_only_its_own_records_from_any_starting_point() -> None:
    with TestClient(create_app(make_settings())) as client:
        acme, globex = found_tenant(client, "Acme"), found_tenant(client, "Globex")
        lists = st.sampled_from(
            [
                "/api/v1/users",
                "/api/v1/departments",
                f"/api/v1/departments/{acme.department_id}/members",
            ]
        )
        starts = st.one_of(st.sampled_from(sorted(globex.ids | acme.ids)), st.just(UNKNOWN_ID))

        @ISOLATION_EXAMPLES
        @given(lists, st.integers(min_value=1, max_value=200), starts)
        def acme_owner_lists(path: str, limit: int, after: str) -> None:
            listed = listed_ids(client, acme.owner, path, limit, after)
            assert set(listed) <= acme.ids

        acme_owner_lists()


def test_an_owners_full_lists_and_stats_are_exactly_its_own_company() -> None:
    with TestClient(create_app(make_settings())) as client:
        acme, globex = found_tenant(client, "Acme"), found_tenant(client, "Globex")
        seen = read_everything(client, acme.owner)
    assert {u["id"] for u in seen["users"]["items"]} == {acme.owner.user_id, acme.member.user_id}
    assert [d["id"] for d in seen["departments"]["items"]] == [acme.department_id]
    assert seen["/api/v1/company/stats"]["departments"] == [
        {"department_id": acme.department_id, "name": acme.department_name, "members": 1}
    ]
    assert not leaked(globex, str(seen))
