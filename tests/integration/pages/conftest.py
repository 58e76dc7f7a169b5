"""Browser tests of the operator pages: one Chromium for the session, one real `novapulse serve`
(with a steerable SMTP server and a webhook receiver on 127.0.0.1), a fresh company per test."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pyotp
import pytest
from playwright.sync_api import (
    Browser,
    BrowserType,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from integration.conftest import PASSWORD, sign_up
from integration.job_servers import Inbox, smtp_server
from integration.servers import Server, running_server
from integration.test_webhooks_http import Receiver

XSS = '<img src=x onerror="window.xss = 1">'
"""A name or description that would run script if a page ever wrote it as HTML."""

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

expect.set_options(timeout=10_000)


# pytest-playwright keeps Playwright for the whole session, and its sync API holds an event loop
# running in the main thread meanwhile, which stops every later pytest-asyncio test. Here it
# lives for this package only: one browser for all the page tests, gone before the others run.


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    return getattr(playwright, browser_name)  # type: ignore[no-any-return]


@pytest.fixture(scope="package")
def launch_browser(
    browser_type_launch_args: dict[str, Any], browser_type: BrowserType
) -> Callable[..., Browser]:
    def launch(**overrides: Any) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **overrides})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    launched = launch_browser()
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def browser_context_args(base_url: str) -> dict[str, Any]:
    return {"base_url": base_url, "viewport": {"width": 1280, "height": 900}}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments, pointed at the system Chromium (never a download)."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def inbox() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as served:
        yield served


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.close()


@pytest.fixture(scope="session")
def server(inbox: tuple[Inbox, int]) -> Iterator[Server]:
    env = {
        "NOVAPULSE_WEBHOOK_ALLOW_LIST": "127.0.0.1/32",
        "NOVAPULSE_SMTP_HOST": "127.0.0.1",
        "NOVAPULSE_SMTP_PORT": str(inbox[1]),
        "NOVAPULSE_SMTP_SECURITY": "none",
        "NOVAPULSE_SMTP_TIMEOUT_SECONDS": "5",
    }
    with running_server(env=env) as served:
        yield served


@pytest.fixture(scope="session")
def base_url(server: Server) -> str:
    """Where `page.goto("/ui/...")` goes (pytest-playwright reads this fixture)."""
    return server.base


@attrs.frozen
class Company:
    """A company signed up over the API, with its owner's email and access token."""

    api: httpx.Client
    owner_email: str
    owner_token: str

    def email(self, local: str) -> str:
        """An address of this company's domain (emails are unique across companies)."""
        return f"{local}@{self.owner_email.partition('@')[2]}"

    def call(self, method: str, path: str, json: Any = None, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token or self.owner_token}"}
        response = self.api.request(method, path, json=json, headers=headers)
        assert response.is_success, response.text
        return response.json() if response.content else None

    def add_user(self, email: str, role: str, name: str | None = None) -> dict[str, Any]:
        body = {"email": email, "name": name or email.split("@")[0], "password": PASSWORD}
        user: dict[str, Any] = self.call("POST", "/api/v1/users", {**body, "role": role})
        return user


_companies = iter(range(1_000_000))


@pytest.fixture
def company(server: Server) -> Iterator[Company]:
    with httpx.Client(base_url=server.base, timeout=10) as api:
        owner = sign_up(api, f"Pages{next(_companies)}")
        yield Company(api, owner.email, owner.token)


def sign_in(page: Page, email: str, *, to: str) -> None:
    """Open `to` signed out, get sent to the sign-in page, sign in, and come back to `to`."""
    page.goto(to)
    expect(page).to_have_url(f"{page.url.split('/ui/')[0]}/ui/?next={to.replace('/', '%2F')}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{page.url.split('/ui/')[0]}{to}")


class Authenticator:
    """An authenticator app: a current code (one step of drift allowed either side) whose step
    has not been used yet, since the server accepts each step once."""

    def __init__(self, secret: str) -> None:
        self._totp = pyotp.TOTP(secret)
        self._used: set[int] = set()

    def code(self) -> str:
        now = time.time()
        for offset in (0, 1, -1):
            step = int(now // 30) + offset
            if offset == -1 and now % 30 > 28:
                time.sleep(30 - now % 30)  # the previous step is about to stop matching
                return self.code()
            if step not in self._used:
                self._used.add(step)
                return str(self._totp.at(step * 30))
        raise AssertionError("three codes used within a minute")


SIGNED_OUT = "You are signed out."
"""What a page throws to stop itself when it sends a signed-out visitor to sign in."""


@pytest.fixture(autouse=True)
def no_script_errors(page: Page) -> Iterator[None]:
    """Fail a test whose pages threw an unexpected error or hit the Content-Security-Policy."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(error.message))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield
    assert [e for e in errors if e != SIGNED_OUT] == []
