"""The operator pages over plain HTTP: what is served under /ui, with which headers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import TestClient

from novapulse_entrypoints.pages import CONTENT_SECURITY_POLICY

PAGES = ["/ui", "/ui/", "/ui/mfa", "/ui/webhooks", "/ui/jobs"]
ASSETS = {
    "/ui/assets/style.css": "text/css; charset=utf-8",
    "/ui/assets/api.js": "text/javascript; charset=utf-8",
    "/ui/assets/dom.js": "text/javascript; charset=utf-8",
    "/ui/assets/shell.js": "text/javascript; charset=utf-8",
    "/ui/assets/signin.js": "text/javascript; charset=utf-8",
    "/ui/assets/mfa.js": "text/javascript; charset=utf-8",
    "/ui/assets/webhooks.js": "text/javascript; charset=utf-8",
    "/ui/assets/jobs.js": "text/javascript; charset=utf-8",
}


def test_the_content_security_policy_allows_only_the_apps_own_code_and_no_framing() -> None:
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", [*PAGES, *ASSETS])
def test_every_page_and_asset_carries_the_security_headers(
    client: TestClient[Any], path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_html_that_loads_its_script_as_a_module_and_nothing_inline(
    client: TestClient[Any], path: str
) -> None:
    response = client.get(path)
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert '<script type="module" src="/ui/assets/' in html
    assert "<script>" not in html
    assert "<style" not in html
    assert " style=" not in html
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", html), "no inline event handler (onclick=...)"


@pytest.mark.parametrize("path", PAGES)
def test_a_form_sent_before_its_script_runs_puts_nothing_in_a_url(
    client: TestClient[Any], path: str
) -> None:
    """Without method=post, a form submitted before its module loaded (autofill and Enter)
    would GET the page with the password in the query: browser history, proxies, traces."""
    forms = re.findall(r"<form\b[^>]*>", client.get(path).text)
    assert all('method="post"' in form for form in forms), forms


@pytest.mark.parametrize("path", ["/ui/jobs", "/ui/webhooks"])
def test_an_owners_and_admins_page_hides_its_controls_until_the_api_lets_the_user_in(
    client: TestClient[Any], path: str
) -> None:
    """A manager or a member would otherwise see (and could press) admin controls until the
    first answer, a 403, replaced them by the not-allowed state."""
    assert re.search(r'<div id="content" hidden>', client.get(path).text)


@pytest.mark.parametrize(("path", "content_type"), ASSETS.items())
def test_assets_are_served_with_their_content_type(
    client: TestClient[Any], path: str, content_type: str
) -> None:
    assert client.get(path).headers["content-type"] == content_type


def test_an_unchanged_asset_is_answered_not_modified(client: TestClient[Any]) -> None:
    etag = client.get("/ui/assets/api.js").headers["etag"]
    again = client.get("/ui/assets/api.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize(
    "path", ["/ui/assets/nothing.js", "/ui/assets/..%2Frouter.py", "/ui/assets/__init__.py"]
)
def test_only_the_pages_own_assets_are_served(client: TestClient[Any], path: str) -> None:
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/schema/swagger", "/schema/redoc", "/schema/rapidoc"])
def test_no_schema_viewer_brings_third_party_script_onto_the_pages_origin(
    client: TestClient[Any], path: str
) -> None:
    assert client.get(path).status_code == 404
    assert client.get("/schema").headers["content-type"] == "application/vnd.oai.openapi+json"


def test_the_pages_stay_out_of_the_openapi_document(client: TestClient[Any]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/ui")]
