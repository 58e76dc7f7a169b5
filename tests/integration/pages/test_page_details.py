"""Details a browser review of the pages found wrong: stale errors, a stale role, a filter
carried over, a page widened by a long URL."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from integration.conftest import PASSWORD
from integration.test_webhooks_http import Receiver

from .conftest import Company, sign_in


def test_a_successful_mfa_setup_does_not_keep_showing_the_earlier_wrong_password_error(
    page: Page, company: Company
) -> None:
    sign_in(page, company.owner_email, to="/ui/mfa")
    page.get_by_label("Current password").fill("not-the-password")
    page.get_by_role("button", name="Start setup").click()
    expect(page.get_by_role("alert")).to_have_text("the current password is wrong")

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Start setup").click()
    expect(page.locator("#secret")).not_to_be_empty()
    expect(page.get_by_role("alert")).to_have_count(0)


def test_a_long_endpoint_url_does_not_widen_the_page_when_managed(
    page: Page, company: Company, receiver: Receiver
) -> None:
    url = f"{receiver.url}/{'segment' * 200}"
    company.call("POST", "/api/v1/webhooks", {"url": url})
    sign_in(page, company.owner_email, to="/ui/webhooks")
    page.get_by_role("button", name="Manage").click()
    page.get_by_role("button", name="Delete…").click()
    expect(page.locator("#confirm-delete")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the page is {width}px wide (the heading and delete prompt do not wrap)"


def test_the_not_allowed_state_names_the_role_the_user_has_now(
    page: Page, company: Company
) -> None:
    email = company.email("demoted")
    admin = company.add_user(email, "admin")
    sign_in(page, email, to="/ui/jobs")
    expect(page.locator("#queues table").first).to_be_visible()

    company.call("PUT", f"/api/v1/users/{admin['id']}/role", {"role": "member"})
    page.reload()
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#forbidden-role")).to_have_text("member")
    expect(page.locator("#who")).to_contain_text("(member)")


def test_a_delivery_filter_left_from_another_endpoint_is_not_reported_as_no_deliveries(
    page: Page, company: Company, receiver: Receiver
) -> None:
    first = company.call("POST", "/api/v1/webhooks", {"url": f"{receiver.url}/a"})["endpoint"]
    company.call("POST", "/api/v1/webhooks", {"url": f"{receiver.url}/b"})
    company.call("POST", f"/api/v1/webhooks/{first['id']}/test", {})
    sign_in(page, company.owner_email, to="/ui/webhooks")
    page.get_by_role("button", name=f"Manage {receiver.url}/b").click()
    page.get_by_label("Status").select_option("failed")
    expect(page.locator("#deliveries")).to_contain_text("No failed deliveries.")
    page.get_by_role("button", name=f"Manage {receiver.url}/a").click()
    expect(page.locator("#deliveries tbody tr").first).to_be_visible()  # it has deliveries


def test_a_refusal_with_a_wait_says_it_in_two_sentences(page: Page, company: Company) -> None:
    page.goto("/ui/")
    for _ in range(6):
        page.get_by_label("Email").fill(company.owner_email)
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text(re.compile(r"[a-z]\. Try again in \d+ s\.$"))
