"""Sign-in and MFA setup in a browser, against a real server."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from integration.conftest import PASSWORD

from .conftest import Authenticator, Company, sign_in


def test_an_owner_turns_mfa_on_keeps_the_recovery_codes_and_signs_in_through_the_challenge(
    page: Page, company: Company
) -> None:
    sign_in(page, company.owner_email, to="/ui/mfa")
    expect(page.locator("#status")).to_have_text("MFA is off.")

    page.get_by_label("Current password").fill("not the password")
    page.get_by_role("button", name="Start setup").click()
    expect(page.get_by_role("alert")).to_have_text("the current password is wrong")
    expect(page).to_have_url(re.compile(r"/ui/mfa$"))
    expect(page.locator("#setup")).to_be_hidden()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Start setup").click()
    expect(page.locator("#secret")).to_have_text(re.compile(r"^[A-Z2-7]{16,}$"))
    secret = page.locator("#secret").inner_text()
    expect(page.locator("#otpauth")).to_contain_text(f"secret={secret}")
    qr = page.get_by_role("img", name="QR code of the authenticator secret")
    expect(qr).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR code renders"

    app = Authenticator(secret)
    page.get_by_label("Code from the app", exact=True).fill(app.code())
    page.get_by_role("button", name="Turn MFA on").click()
    expect(page.get_by_role("heading", name="Store these recovery codes now")).to_be_visible()
    codes = page.locator("#codes li").all_inner_texts()
    assert len(codes) == 10
    assert len(set(codes)) == 10
    page.get_by_role("button", name="I have stored them").click()
    expect(page.locator("#codes-card")).to_be_hidden()
    expect(page.locator("#codes li")).to_have_count(0)
    expect(page.locator("#status")).to_contain_text("MFA is on since")
    expect(page.locator("#status")).to_contain_text("10 recovery codes left")

    token = page.evaluate("sessionStorage.getItem('novapulse.access_token')")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    assert page.evaluate("sessionStorage.length") == 0
    signed_out = company.api.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert signed_out.status_code == 401, "signing out revoked the session on the server"

    page.get_by_label("Email").fill(company.owner_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("code")
    page.get_by_role("button", name="Use a recovery code instead").click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/ui/jobs$"))

    page.get_by_role("link", name="MFA").click()
    expect(page.locator("#status")).to_contain_text("9 recovery codes left")
    page.locator("#disable-password").fill(PASSWORD)
    page.locator("#disable-code").fill(app.code())
    page.get_by_role("button", name="Turn MFA off").click()
    expect(page.locator("#status")).to_have_text("MFA is off.")


def test_a_user_whose_role_requires_mfa_is_sent_to_set_it_up_and_then_gets_a_session(
    page: Page, company: Company
) -> None:
    company.add_user(company.email("ada"), "admin")
    company.call("PUT", "/api/v1/company/mfa-policy", {"required_roles": ["admin"]})

    page.goto("/ui/")
    page.get_by_label("Email").fill(company.email("ada"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/ui/mfa$"))
    expect(page.get_by_role("status").first).to_contain_text("requires MFA for your role")
    expect(page.get_by_role("navigation", name="Pages")).to_be_hidden()
    expect(page.get_by_label("Current password")).to_be_hidden()  # the sign-in just proved it

    page.get_by_role("button", name="Start setup").click()
    expect(page.locator("#secret")).not_to_be_empty()
    app = Authenticator(page.locator("#secret").inner_text())
    page.get_by_label("Code from the app", exact=True).fill(app.code())
    page.get_by_role("button", name="Turn MFA on").click()
    expect(page.locator("#codes li")).to_have_count(10)
    expect(page.get_by_role("navigation", name="Pages")).to_be_visible()
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/ui/jobs$"))
    expect(page.get_by_role("heading", name="Job queues")).to_be_visible()
    expect(page.locator("#queues table").first).to_be_visible()
