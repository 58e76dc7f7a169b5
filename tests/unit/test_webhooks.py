"""Webhook endpoints for admins: secrets, rotation, tenancy, fan-out, test events, resends."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from novapulse_adapters.memory import InsecureSecretBox
from novapulse_core import context
from novapulse_core.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from novapulse_core.domain.paging import PageRequest
from novapulse_core.domain.webhook_signing import WebhookVerificationError, verify_webhook
from novapulse_core.domain.webhooks import DeliveryStatus, WebhookPolicy
from support.webhook_kit import ADMIN, MANAGER, OTHER_ADMIN, RECEIVER, Webhooks

PAGE = PageRequest()


async def test_the_secret_is_shown_on_creation_only_and_stored_sealed() -> None:
    hooks = Webhooks()
    created = await hooks.endpoint()

    assert created.secret.startswith("whsec_")
    stored = await hooks.service.get(ADMIN, created.endpoint.id)
    assert created.secret not in stored.encrypted_secret
    assert created.secret not in repr(stored)
    assert stored.url == RECEIVER
    assert stored.active
    assert hooks.secrets.signing(stored, hooks.clock.now()) == [created.secret]


async def test_only_admins_manage_webhooks() -> None:
    hooks = Webhooks()
    with pytest.raises(Forbidden):
        await hooks.service.create(MANAGER, url=RECEIVER)
    with pytest.raises(Forbidden):
        await hooks.service.list(MANAGER, PAGE)


async def test_a_company_never_sees_or_changes_another_companys_endpoint() -> None:
    hooks = Webhooks()
    theirs = (await hooks.endpoint()).endpoint
    await hooks.user_created()
    (delivery,) = (await hooks.service.deliveries(ADMIN, PAGE)).items

    for attempt in (
        hooks.service.get(OTHER_ADMIN, theirs.id),
        hooks.service.update(OTHER_ADMIN, theirs.id, description="mine now"),
        hooks.service.delete(OTHER_ADMIN, theirs.id),
        hooks.service.rotate_secret(OTHER_ADMIN, theirs.id),
        hooks.service.send_test(OTHER_ADMIN, theirs.id),
        hooks.service.deliveries(OTHER_ADMIN, PAGE, endpoint_id=theirs.id),
        hooks.service.delivery(OTHER_ADMIN, delivery.id),
        hooks.service.redeliver(OTHER_ADMIN, delivery.id),
    ):
        with pytest.raises(NotFound):
            await attempt
    assert (await hooks.service.list(OTHER_ADMIN, PAGE)).items == []
    assert (await hooks.service.deliveries(OTHER_ADMIN, PAGE)).items == []
    assert (await hooks.service.get(ADMIN, theirs.id)).description == ""


async def test_urls_to_private_addresses_are_refused_on_create_and_update() -> None:
    hooks = Webhooks()
    with pytest.raises(Invalid, match=r"resolves to a private address") as refused:
        await hooks.service.create(ADMIN, url="https://intranet.example.com/hook")
    assert "10.1.2.3" not in str(refused.value)  # internal names are not mapped for tenants
    endpoint = (await hooks.endpoint()).endpoint
    with pytest.raises(Invalid, match="loopback"):
        await hooks.service.update(ADMIN, endpoint.id, url="http://127.0.0.1:8080/")
    assert (await hooks.service.get(ADMIN, endpoint.id)).url == RECEIVER


@pytest.mark.parametrize("types", [["User.Created"], ["user"], ["user.created", "bad type"]])
async def test_event_types_must_be_named_like_events(types: list[str]) -> None:
    with pytest.raises(Invalid, match="event_types"):
        await Webhooks().service.create(ADMIN, url=RECEIVER, event_types=types)


async def test_a_star_or_nothing_subscribes_to_every_event() -> None:
    hooks = Webhooks()
    created = await hooks.service.create(ADMIN, url=RECEIVER, event_types=["*"])
    assert created.endpoint.event_types == frozenset()
    assert created.endpoint.subscribes_to("anything.at_all")


async def test_disabling_records_the_admin_and_enabling_clears_the_streak() -> None:
    hooks = Webhooks()
    endpoint = (await hooks.endpoint()).endpoint
    await hooks.endpoint_store.record_failure("co-a", endpoint.id, hooks.clock.now())

    off = await hooks.service.update(ADMIN, endpoint.id, active=False)
    assert (off.active, off.disabled_reason) == (False, "disabled by an administrator")
    on = await hooks.service.update(ADMIN, endpoint.id, active=True, description="back")
    assert (on.active, on.disabled_reason, on.consecutive_failures) == (True, None, 0)
    assert on.description == "back"
    assert "webhook.updated" in hooks.events.types()


async def test_a_deleted_endpoint_is_gone() -> None:
    hooks = Webhooks()
    endpoint = (await hooks.endpoint()).endpoint
    await hooks.service.delete(ADMIN, endpoint.id)
    with pytest.raises(NotFound):
        await hooks.service.get(ADMIN, endpoint.id)
    assert hooks.events.types()[-1] == "webhook.deleted"


async def test_a_company_at_its_endpoint_limit_must_delete_one_before_adding_one() -> None:
    hooks = Webhooks(WebhookPolicy(max_endpoints=2))
    first = (await hooks.endpoint()).endpoint
    await hooks.endpoint()

    with pytest.raises(Conflict, match="2 webhook endpoints"):
        await hooks.endpoint()
    await hooks.service.create(OTHER_ADMIN, url=RECEIVER)  # another company's count is its own
    await hooks.service.delete(ADMIN, first.id)
    await hooks.endpoint()


async def test_rotation_signs_with_both_secrets_during_grace_then_only_the_new_one() -> None:
    hooks = Webhooks()
    created = await hooks.endpoint()
    rotated = await hooks.service.rotate_secret(
        ADMIN, created.endpoint.id, grace=timedelta(hours=1)
    )
    assert rotated.secret != created.secret
    assert rotated.previous_valid_until == hooks.clock.now() + timedelta(hours=1)

    await hooks.user_created()
    await hooks.work()
    during = hooks.transport.sent[-1]
    for secret in (created.secret, rotated.secret):
        verify_webhook(during.body, during.headers, secret, now=hooks.clock.now())

    hooks.clock.advance(timedelta(hours=1))
    await hooks.user_created(user_id="u-2")
    await hooks.work()
    after = hooks.transport.sent[-1]
    verify_webhook(after.body, after.headers, rotated.secret, now=hooks.clock.now())
    with pytest.raises(WebhookVerificationError):
        verify_webhook(after.body, after.headers, created.secret, now=hooks.clock.now())


async def test_a_rotation_without_grace_retires_the_old_secret_at_once() -> None:
    hooks = Webhooks()
    created = await hooks.endpoint()
    rotated = await hooks.service.rotate_secret(ADMIN, created.endpoint.id, grace=timedelta(0))
    assert rotated.previous_valid_until is None
    assert hooks.secrets.signing(rotated.endpoint, hooks.clock.now()) == [rotated.secret]
    with pytest.raises(Invalid, match="grace"):
        await hooks.service.rotate_secret(ADMIN, created.endpoint.id, grace=timedelta(days=31))


async def test_an_event_fans_out_to_each_active_subscribed_endpoint_of_its_company() -> None:
    hooks = Webhooks()
    wanted = (await hooks.endpoint()).endpoint
    everything = (await hooks.endpoint("https://other.example.org/all", types=())).endpoint
    await hooks.endpoint(types=("user.deactivated",))
    off = (await hooks.endpoint()).endpoint
    await hooks.service.update(ADMIN, off.id, active=False)
    await hooks.endpoint(actor=OTHER_ADMIN)
    hooks.queue.waiting.clear()

    token = context.request_id.set("req-7")
    try:
        event = await hooks.announcer.announce("user.created", "co-a", user_id="u-1")
    finally:
        context.request_id.reset(token)

    deliveries = (await hooks.service.deliveries(ADMIN, PAGE)).items
    mine = [d for d in deliveries if d.message_id == event.id]
    assert sorted(d.endpoint_id for d in mine) == sorted([wanted.id, everything.id])
    assert len({d.payload for d in mine}) == 1  # serialised once, the same bytes for each
    assert json.loads(mine[0].payload) == {
        "id": event.id,
        "type": "user.created",
        "created_at": "2026-01-01T00:00:00.000Z",
        "company_id": "co-a",
        "data": {"user_id": "u-1"},
    }
    assert {e.job.request_id for e in hooks.queue.waiting} == {"req-7"}
    assert {d.request_id for d in mine} == {"req-7"}


async def test_a_payload_over_the_limit_is_refused_with_a_clear_message() -> None:
    hooks = Webhooks(WebhookPolicy(max_payload_bytes=1024))
    endpoint = (await hooks.endpoint()).endpoint
    with pytest.raises(Invalid, match=r"payload is \d+ bytes; the limit is 1024 bytes"):
        await hooks.service.send_test(ADMIN, endpoint.id, data={"blob": "x" * 2000})

    await hooks.announcer.announce("user.created", "co-a", blob="x" * 2000)
    assert hooks.events.subscriber_failures == 1
    assert (await hooks.service.deliveries(ADMIN, PAGE, endpoint_id=endpoint.id)).items == []


async def test_a_test_event_goes_to_one_endpoint_signed_like_any_other() -> None:
    hooks = Webhooks()
    created = await hooks.endpoint()
    await hooks.endpoint("https://other.example.org/x")
    hooks.queue.waiting.clear()

    delivery = await hooks.service.send_test(ADMIN, created.endpoint.id)
    await hooks.work()

    (sent,) = hooks.transport.sent
    assert sent.url == RECEIVER
    assert sent.headers["X-NovaPulse-Event"] == "webhook.test"
    assert json.loads(sent.body)["data"] == {"endpoint_id": created.endpoint.id, "test": True}
    verify_webhook(sent.body, sent.headers, created.secret, now=hooks.clock.now())
    assert (await hooks.service.delivery(ADMIN, delivery.id)).status is DeliveryStatus.SUCCEEDED


async def test_a_disabled_endpoint_gets_no_test_event() -> None:
    hooks = Webhooks()
    endpoint = (await hooks.endpoint()).endpoint
    await hooks.service.update(ADMIN, endpoint.id, active=False)
    with pytest.raises(Conflict, match="disabled"):
        await hooks.service.send_test(ADMIN, endpoint.id)


async def test_a_redelivery_sends_the_same_bytes_and_id_again() -> None:
    hooks = Webhooks()
    await hooks.endpoint()
    await hooks.user_created()
    (delivery,) = (await hooks.service.deliveries(ADMIN, PAGE)).items
    with pytest.raises(Conflict, match="still being attempted"):
        await hooks.service.redeliver(ADMIN, delivery.id)
    await hooks.work()

    await hooks.service.redeliver(ADMIN, delivery.id)
    await hooks.work()

    first, second = hooks.transport.sent
    assert first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    again = await hooks.service.delivery(ADMIN, delivery.id)
    assert (again.status, again.attempts) == (DeliveryStatus.SUCCEEDED, 2)
    attempts = (await hooks.service.attempts(ADMIN, PAGE, delivery_id=delivery.id)).items
    assert [a.number for a in attempts] == [2, 1]  # newest first


async def test_a_broker_that_cannot_be_reached_leaves_the_delivery_failed() -> None:
    hooks = Webhooks()
    endpoint = (await hooks.endpoint()).endpoint
    hooks.queue.fail_next()
    with pytest.raises(Unavailable):
        await hooks.service.send_test(ADMIN, endpoint.id)
    (delivery,) = (await hooks.service.deliveries(ADMIN, PAGE, endpoint_id=endpoint.id)).items
    assert delivery.status is DeliveryStatus.FAILED
    assert "broker" in (delivery.last_error or "")


async def test_a_worker_opens_a_secret_once_and_again_only_after_a_rotation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hooks = Webhooks()
    created = await hooks.endpoint()
    opened: list[str] = []
    decrypt = InsecureSecretBox.decrypt

    def counting_decrypt(box: InsecureSecretBox, sealed: str, *, context: str) -> str:
        opened.append(sealed)
        return decrypt(box, sealed, context=context)

    monkeypatch.setattr(InsecureSecretBox, "decrypt", counting_decrypt)
    await hooks.user_created(user_id="u-1")
    await hooks.user_created(user_id="u-2")
    await hooks.work()
    assert len(opened) == 1

    rotated = await hooks.service.rotate_secret(ADMIN, created.endpoint.id, grace=timedelta(0))
    await hooks.user_created(user_id="u-3")
    await hooks.work()
    latest = hooks.transport.sent[-1]
    verify_webhook(latest.body, latest.headers, rotated.secret, now=hooks.clock.now())
    with pytest.raises(WebhookVerificationError):
        verify_webhook(latest.body, latest.headers, created.secret, now=hooks.clock.now())
    assert len(opened) == 2
