"""Who may see what: signed-out visitors go to sign in, members are told they are not allowed."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .conftest import XSS, Company, sign_in


def test_a_member_is_told_the_operator_pages_are_not_for_its_role_and_its_name_stays_text(
    page: Page, company: Company
) -> None:
    company.add_user(company.email("mo"), "member", name=XSS)
    sign_in(page, company.email("mo"), to="/ui/webhooks")

    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.locator("#forbidden-role")).to_have_text("member")
    expect(page.locator("#content")).to_be_hidden()
    expect(page.locator("#who")).to_have_text(f"{XSS} (member)")
    assert page.locator("header img").count() == 0
    assert page.evaluate("window.xss") is None

    page.get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.locator("#forbidden")).to_contain_text("not allowed to see the job queues")
