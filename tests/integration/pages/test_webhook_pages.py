"""Webhook management in a browser: endpoints, their one-time secrets and the delivery log."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from integration.test_webhooks_http import Receiver, eventually
from novapulse_core.domain.webhook_signing import verify_webhook

from .conftest import XSS, Company, sign_in


def test_an_owner_runs_an_endpoint_from_creation_through_test_deliveries_to_deletion(
    page: Page, company: Company, receiver: Receiver
) -> None:
    before = len(receiver.received)
    sign_in(page, company.owner_email, to="/ui/webhooks")
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()

    create = page.locator("#create-form")
    create.get_by_label("URL").fill(receiver.url)
    create.get_by_label("Description").fill(f"Billing {XSS}")
    create.get_by_role("button", name="Add endpoint").click()

    # The secret is shown once, at creation.
    expect(page.get_by_role("heading", name="Signing secret of the new endpoint")).to_be_visible()
    expect(page.locator("#secret-value")).to_have_text(re.compile(r"^whsec_"))
    secret = page.locator("#secret-value").inner_text()
    page.get_by_role("button", name="I have stored it").click()
    expect(page.locator("#secret-card")).to_be_hidden()
    assert secret not in page.content()

    # Listed with what the operator needs, the description as text, never as markup.
    endpoint = page.locator("#endpoints tbody tr")
    expect(endpoint).to_have_count(1)
    expect(endpoint).to_contain_text(receiver.url)
    expect(endpoint).to_contain_text("every event")
    expect(endpoint).to_contain_text("active")
    expect(endpoint.get_by_role("cell", name=f"Billing {XSS}")).to_be_visible()
    assert page.locator("#endpoints img").count() == 0
    assert page.evaluate("window.xss") is None

    # A test event: its delivery settles in the log, with its attempt.
    page.get_by_role("button", name="Send a test event").click()
    delivery = page.locator("#deliveries tbody tr").filter(has_text="webhook.test")
    expect(delivery).to_contain_text("succeeded")
    (test_id,) = [h["webhook-id"] for b, h in receiver.received[before:] if b"webhook.test" in b]
    body, headers = next((b, h) for b, h in receiver.received if h["webhook-id"] == test_id)
    assert verify_webhook(body, headers, [secret]).event_type == "webhook.test"
    delivery.get_by_role("button", name="Attempts").click()
    attempt = page.locator("#attempts tbody tr")
    expect(attempt).to_have_count(1)
    expect(attempt).to_contain_text("succeeded")
    expect(attempt.locator("td").nth(3)).to_have_text("200")
    expect(attempt.locator("td").nth(4)).to_have_text(re.compile(r"^\d+ ms$"))

    delivery.get_by_role("button", name="Redeliver").click()
    eventually(lambda: [h["webhook-id"] for _, h in receiver.received].count(test_id) == 2)
    page.get_by_role("button", name="Every attempt").click()
    expect(page.locator("#attempts tbody tr").filter(has_text="succeeded")).to_have_count(3)

    # Edit, rotate (the new secret once, with the grace period explained), delete.
    detail = page.locator("#edit-form")
    detail.get_by_label("Description").fill("Billing")
    detail.get_by_label("Event types").fill("user.created, webhook.test")
    detail.get_by_role("button", name="Save changes").click()
    expect(page.locator("#detail-message")).to_have_text("Saved.")
    expect(endpoint).to_contain_text("user.created, webhook.test")

    page.get_by_label("Old secret keeps signing for").select_option(label="1 hour")
    page.get_by_role("button", name="Rotate the secret").click()
    expect(page.get_by_role("heading", name="New signing secret")).to_be_visible()
    expect(page.locator("#secret-value")).to_have_text(re.compile(r"^whsec_"))
    assert page.locator("#secret-value").inner_text() != secret
    expect(page.locator("#secret-note")).to_contain_text("both the old and the new secret")
    page.get_by_role("button", name="I have stored it").click()

    page.get_by_role("button", name="Delete…").click()
    expect(page.locator("#confirm-delete-text")).to_contain_text(receiver.url)
    page.get_by_role("button", name="Delete endpoint").click()
    expect(page.locator("#message")).to_contain_text("Deleted the endpoint")
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()
    assert company.call("GET", "/api/v1/webhooks")["items"] == []
