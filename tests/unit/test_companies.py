"""Companies: sign-up with a first owner, reading and renaming."""

from __future__ import annotations

from datetime import timedelta

import pytest

from novapulse_core import context
from novapulse_core.domain import events
from novapulse_core.domain.errors import Conflict, Forbidden, Invalid, NotFound
from novapulse_core.domain.identity import Role

from .kit import PASSWORD, Platform, Tenant


async def test_registering_creates_the_company_and_its_first_owner(platform: Platform) -> None:
    registration = await platform.companies.register(
        company_name="  Acme   Rockets ",
        owner_email="  Olive@Example.COM ",
        owner_name="Olive  Owner",
        owner_password=PASSWORD,
    )

    company = await platform.company_store.get(registration.company.id)
    owner = await platform.user_store.get(company.id, registration.owner.id)
    assert company.name == "Acme Rockets"
    assert company.created_at == platform.clock.now()
    assert owner.email == "olive@example.com"
    assert owner.name == "Olive Owner"
    assert owner.role is Role.OWNER
    assert owner.active
    assert owner.password_hash != PASSWORD
    assert platform.hasher.verify(owner.password_hash, PASSWORD)


async def test_registering_announces_the_company_then_its_owner(platform: Platform) -> None:
    acme = await platform.register("Acme", email="olive@example.com")

    created, owner_created = platform.events.published
    assert platform.events.types() == [events.COMPANY_CREATED, events.USER_CREATED]
    assert created.company_id == owner_created.company_id == acme.company.id
    assert created.data == {"name": "Acme"}
    assert owner_created.data == {
        "user_id": acme.owner.user.id,
        "email": "olive@example.com",
        "role": "owner",
    }
    assert created.request_id is None
    assert created.occurred_at == platform.clock.now()


async def test_registration_events_carry_the_request_id_of_the_work_in_progress(
    platform: Platform,
) -> None:
    token = context.request_id.set("req-7f3a")
    try:
        await platform.register("Acme")
    finally:
        context.request_id.reset(token)

    assert [event.request_id for event in platform.events.published] == ["req-7f3a", "req-7f3a"]


async def test_registering_with_a_taken_owner_email_leaves_no_orphan_company(
    platform: Platform,
) -> None:
    await platform.register("Acme", email="olive@example.com")
    published_before = len(platform.events.published)
    ids_before = len(platform.ids.issued)

    with pytest.raises(Conflict):
        await platform.register("Globex", email=" OLIVE@example.com")

    for new_id in platform.ids.issued[ids_before:]:
        with pytest.raises(NotFound):
            await platform.company_store.get(new_id)
    assert len(platform.events.published) == published_before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("company_name", "   "),
        ("owner_email", "not-an-email"),
        ("owner_name", ""),
        ("owner_password", "short"),
    ],
)
async def test_registering_with_invalid_input_stores_and_announces_nothing(
    platform: Platform, field: str, value: str
) -> None:
    fields = {
        "company_name": "Acme",
        "owner_email": "olive@example.com",
        "owner_name": "Olive",
        "owner_password": PASSWORD,
        field: value,
    }

    with pytest.raises(Invalid):
        await platform.companies.register(**fields)

    assert platform.ids.issued == []
    assert await platform.user_store.find_by_email("olive@example.com") is None
    assert list(platform.events.published) == []


async def test_every_role_reads_its_own_company(platform: Platform, acme: Tenant) -> None:
    await platform.register("Globex")
    for role in Role:
        member = await platform.add_user(acme, role)
        assert await platform.companies.get(member.principal) == acme.company


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
async def test_an_owner_or_admin_renames_the_company(
    platform: Platform, acme: Tenant, role: Role
) -> None:
    actor = await platform.add_user(acme, role)
    platform.clock.advance(timedelta(minutes=5))

    renamed = await platform.companies.rename(actor.principal, "  Acme   Space ")

    stored = await platform.company_store.get(acme.company.id)
    assert stored == renamed
    assert stored.name == "Acme Space"
    assert stored.version == acme.company.version + 1
    assert stored.updated_at == platform.clock.now()
    assert stored.created_at == acme.company.created_at
    last = platform.events.published[-1]
    assert (last.type, last.company_id, last.data) == (
        events.COMPANY_UPDATED,
        acme.company.id,
        {"name": "Acme Space"},
    )


@pytest.mark.parametrize("role", [Role.MANAGER, Role.MEMBER])
async def test_a_manager_or_member_cannot_rename_the_company(
    platform: Platform, acme: Tenant, role: Role
) -> None:
    actor = await platform.add_user(acme, role)

    with pytest.raises(Forbidden):
        await platform.companies.rename(actor.principal, "Hijacked")

    assert await platform.company_store.get(acme.company.id) == acme.company
    assert platform.events_of(events.COMPANY_UPDATED) == []


async def test_renaming_to_a_blank_name_is_invalid_and_changes_nothing(
    platform: Platform, acme: Tenant
) -> None:
    with pytest.raises(Invalid):
        await platform.companies.rename(acme.owner.principal, " \t ")

    assert await platform.company_store.get(acme.company.id) == acme.company


async def test_renaming_to_the_same_name_changes_nothing_and_announces_nothing(
    platform: Platform, acme: Tenant
) -> None:
    await platform.companies.rename(acme.owner.principal, f"  {acme.company.name} ")

    assert await platform.company_store.get(acme.company.id) == acme.company
    assert platform.events_of(events.COMPANY_UPDATED) == []
