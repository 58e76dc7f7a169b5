"""The `UserStore` contract, run against every adapter."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from novapulse_adapters.system import SystemClock
from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.identity import Role, User
from novapulse_core.domain.paging import PageRequest
from novapulse_core.ports.stores import UserStore

T0 = datetime(2026, 3, 1, 9, 30, 15, 123000, tzinfo=UTC)


def a_user(user_id: str = "u-1", company_id: str = "co-a", **changes: Any) -> User:
    user = User(
        id=user_id,
        company_id=company_id,
        email=f"{user_id}@{company_id}.example.com",
        name=f"User {user_id}",
        role=Role.MEMBER,
        password_hash="argon2$not-a-real-hash",
        created_at=T0,
        updated_at=T0,
    )
    return attrs.evolve(user, **changes)


def next_version(user: User, **changes: Any) -> User:
    later = user.updated_at + timedelta(minutes=1)
    return attrs.evolve(user, version=user.version + 1, updated_at=later, **changes)


async def add_all(store: UserStore, *users: User) -> None:
    for user in users:
        await store.add(user)


def ids(users: Iterable[User]) -> list[str]:
    return [user.id for user in users]


# add, get, find_by_email


async def test_the_moment_a_users_tokens_became_void_reads_back(user_store: UserStore) -> None:
    await user_store.add(a_user())
    void = T0 + timedelta(hours=1)

    await user_store.update(next_version(a_user(), tokens_valid_after=void))

    assert (await user_store.get("co-a", "u-1")).tokens_valid_after == void


async def test_an_added_user_reads_back_unchanged_in_its_company(user_store: UserStore) -> None:
    user = a_user(role=Role.ADMIN, active=False)
    await user_store.add(user)

    stored = await user_store.get("co-a", "u-1")

    assert stored == user
    assert stored.created_at.tzinfo == UTC


async def test_a_user_of_another_company_is_not_found(user_store: UserStore) -> None:
    await user_store.add(a_user(company_id="co-a"))

    with pytest.raises(NotFound):
        await user_store.get("co-b", "u-1")


async def test_an_unknown_user_is_not_found(user_store: UserStore) -> None:
    await user_store.add(a_user())

    with pytest.raises(NotFound):
        await user_store.get("co-a", "u-2")


async def test_a_taken_email_is_a_conflict_on_the_email_field(user_store: UserStore) -> None:
    await user_store.add(a_user("u-1", email="ada@example.com"))

    with pytest.raises(Conflict) as caught:
        await user_store.add(a_user("u-2", email="ada@example.com"))
    assert caught.value.extra == {"field": "email"}
    with pytest.raises(NotFound):
        await user_store.get("co-a", "u-2")


async def test_a_taken_email_is_a_conflict_even_in_another_company(user_store: UserStore) -> None:
    await user_store.add(a_user("u-1", company_id="co-a", email="ada@example.com"))

    with pytest.raises(Conflict) as caught:
        await user_store.add(a_user("u-2", company_id="co-b", email="ada@example.com"))
    assert caught.value.extra == {"field": "email"}


async def test_a_taken_id_is_a_conflict_that_does_not_blame_the_email(
    user_store: UserStore,
) -> None:
    await user_store.add(a_user("u-1", email="ada@example.com"))

    with pytest.raises(Conflict) as caught:
        await user_store.add(a_user("u-1", email="grace@example.com"))
    assert caught.value.extra.get("field") != "email"
    assert await user_store.find_by_email("grace@example.com") is None


async def test_find_by_email_looks_across_companies(user_store: UserStore) -> None:
    wanted = a_user("u-2", company_id="co-b", email="ada@example.com")
    await add_all(user_store, a_user("u-1", company_id="co-a"), wanted)

    assert await user_store.find_by_email("ada@example.com") == wanted


async def test_find_by_email_gives_none_for_an_unknown_address(user_store: UserStore) -> None:
    await user_store.add(a_user())

    assert await user_store.find_by_email("nobody@example.com") is None


# update


async def test_an_update_with_the_next_version_replaces_the_user(user_store: UserStore) -> None:
    user = a_user()
    await user_store.add(user)
    promoted = next_version(user, role=Role.MANAGER, name="Ada L.", active=False)

    await user_store.update(promoted)

    assert await user_store.get("co-a", "u-1") == promoted


async def test_an_update_can_change_the_email_and_frees_the_old_one(user_store: UserStore) -> None:
    user = a_user(email="old@example.com")
    await user_store.add(user)

    await user_store.update(next_version(user, email="new@example.com"))

    assert await user_store.find_by_email("old@example.com") is None
    assert (await user_store.find_by_email("new@example.com")) == await user_store.get(
        "co-a", "u-1"
    )
    await user_store.add(a_user("u-2", email="old@example.com"))


async def test_an_update_to_a_taken_email_is_a_conflict_and_changes_nothing(
    user_store: UserStore,
) -> None:
    ada = a_user("u-1", email="ada@example.com")
    await add_all(user_store, ada, a_user("u-2", company_id="co-b", email="grace@example.com"))

    with pytest.raises(Conflict) as caught:
        await user_store.update(next_version(ada, email="grace@example.com"))
    assert caught.value.extra == {"field": "email"}
    assert await user_store.get("co-a", "u-1") == ada


async def test_an_update_from_a_stale_read_is_a_conflict_and_changes_nothing(
    user_store: UserStore,
) -> None:
    user = a_user()
    await user_store.add(user)
    await user_store.update(next_version(user, name="First writer"))

    with pytest.raises(Conflict):
        await user_store.update(next_version(user, name="Second writer"))
    assert (await user_store.get("co-a", "u-1")).name == "First writer"


async def test_an_update_whose_version_skips_ahead_is_a_conflict(user_store: UserStore) -> None:
    user = a_user()
    await user_store.add(user)

    with pytest.raises(Conflict):
        await user_store.update(attrs.evolve(user, version=3, name="Skipped"))
    assert await user_store.get("co-a", "u-1") == user


async def test_updating_a_user_through_another_company_is_not_found(
    user_store: UserStore,
) -> None:
    user = a_user(company_id="co-a")
    await user_store.add(user)

    with pytest.raises(NotFound):
        await user_store.update(next_version(user, company_id="co-b", name="Hijacked"))
    assert await user_store.get("co-a", "u-1") == user


async def test_updating_an_unknown_user_is_not_found(user_store: UserStore) -> None:
    with pytest.raises(NotFound):
        await user_store.update(next_version(a_user()))


# list


async def test_a_page_holds_up_to_limit_plus_one_users_ordered_by_id(
    user_store: UserStore,
) -> None:
    await add_all(user_store, *(a_user(f"u-{n}") for n in (4, 2, 5, 1, 3)))

    page = await user_store.list("co-a", PageRequest(limit=3))

    assert ids(page) == ["u-1", "u-2", "u-3", "u-4"]


async def test_a_short_last_page_holds_what_is_left(user_store: UserStore) -> None:
    await add_all(user_store, a_user("u-1"), a_user("u-2"))

    assert ids(await user_store.list("co-a", PageRequest(limit=5))) == ["u-1", "u-2"]


async def test_a_page_starts_after_the_given_id(user_store: UserStore) -> None:
    await add_all(user_store, *(a_user(f"u-{n}") for n in range(1, 6)))

    page = await user_store.list("co-a", PageRequest(limit=2, after="u-2"))

    assert ids(page) == ["u-3", "u-4", "u-5"]


async def test_a_page_can_start_after_an_id_that_is_not_stored(user_store: UserStore) -> None:
    await add_all(user_store, a_user("u-1"), a_user("u-3"))

    assert ids(await user_store.list("co-a", PageRequest(after="u-2"))) == ["u-3"]
    assert ids(await user_store.list("co-a", PageRequest(after="u-9"))) == []


async def test_a_page_holds_only_users_of_the_company(user_store: UserStore) -> None:
    await add_all(user_store, a_user("u-1", "co-a"), a_user("u-2", "co-b"), a_user("u-3", "co-a"))

    assert ids(await user_store.list("co-a", PageRequest())) == ["u-1", "u-3"]
    assert ids(await user_store.list("co-c", PageRequest())) == []


async def test_a_page_can_be_filtered_by_role(user_store: UserStore) -> None:
    await add_all(
        user_store,
        a_user("u-1", role=Role.ADMIN),
        a_user("u-2", role=Role.MEMBER),
        a_user("u-3", role=Role.ADMIN),
        a_user("u-4", "co-b", role=Role.ADMIN),
    )

    page = await user_store.list("co-a", PageRequest(), role=Role.ADMIN)

    assert ids(page) == ["u-1", "u-3"]


async def test_a_page_can_be_filtered_by_the_active_flag(user_store: UserStore) -> None:
    await add_all(user_store, a_user("u-1"), a_user("u-2", active=False), a_user("u-3"))

    assert ids(await user_store.list("co-a", PageRequest(), active=True)) == ["u-1", "u-3"]
    assert ids(await user_store.list("co-a", PageRequest(), active=False)) == ["u-2"]
    assert ids(await user_store.list("co-a", PageRequest())) == ["u-1", "u-2", "u-3"]


async def test_filters_and_paging_combine(user_store: UserStore) -> None:
    await add_all(
        user_store,
        a_user("u-1", role=Role.ADMIN),
        a_user("u-2", role=Role.ADMIN, active=False),
        a_user("u-3", role=Role.ADMIN),
        a_user("u-4", role=Role.MEMBER),
        a_user("u-5", role=Role.ADMIN),
        a_user("u-6", role=Role.ADMIN),
    )

    page = await user_store.list(
        "co-a", PageRequest(limit=1, after="u-1"), role=Role.ADMIN, active=True
    )

    assert ids(page) == ["u-3", "u-5"]


# get_many


async def test_get_many_gives_the_companys_users_ordered_by_id(user_store: UserStore) -> None:
    await add_all(user_store, *(a_user(f"u-{n}") for n in range(1, 5)))

    found = await user_store.get_many("co-a", ["u-3", "u-1", "u-4"])

    assert ids(found) == ["u-1", "u-3", "u-4"]
    assert found[0] == a_user("u-1")


async def test_get_many_skips_unknown_ids_and_users_of_other_companies(
    user_store: UserStore,
) -> None:
    await add_all(user_store, a_user("u-1", "co-a"), a_user("u-2", "co-b"))

    found = await user_store.get_many("co-a", ["u-2", "u-9", "u-1"])

    assert ids(found) == ["u-1"]


async def test_get_many_gives_each_user_once_when_asked_twice(user_store: UserStore) -> None:
    await add_all(user_store, a_user("u-1"), a_user("u-2"))

    assert ids(await user_store.get_many("co-a", ["u-2", "u-1", "u-2"])) == ["u-1", "u-2"]


async def test_get_many_of_no_ids_is_empty(user_store: UserStore) -> None:
    await user_store.add(a_user())

    assert list(await user_store.get_many("co-a", [])) == []


# count_by_role


def counted(**by_role: int) -> dict[Role, int]:
    """Every role, zero where it has no user, as `count_by_role` answers."""
    return {role: by_role.get(role.value, 0) for role in Role}


async def test_count_by_role_counts_the_companys_active_users(user_store: UserStore) -> None:
    await add_all(
        user_store,
        a_user("u-1", role=Role.OWNER),
        a_user("u-2", role=Role.MEMBER),
        a_user("u-3", role=Role.MEMBER),
        a_user("u-4", role=Role.ADMIN, active=False),
        a_user("u-5", "co-b", role=Role.MEMBER),
    )

    counts = await user_store.count_by_role("co-a")

    assert dict(counts) == counted(owner=1, member=2)


async def test_count_by_role_can_count_deactivated_users(user_store: UserStore) -> None:
    await add_all(
        user_store,
        a_user("u-1", role=Role.OWNER),
        a_user("u-2", role=Role.MEMBER, active=False),
        a_user("u-3", role=Role.ADMIN, active=False),
        a_user("u-4", "co-b", role=Role.ADMIN, active=False),
    )

    counts = await user_store.count_by_role("co-a", active=False)

    assert dict(counts) == counted(member=1, admin=1)


async def test_count_by_role_of_a_company_without_users_is_all_zeros(user_store: UserStore) -> None:
    await user_store.add(a_user("u-1", "co-b"))

    assert dict(await user_store.count_by_role("co-a")) == counted()


async def test_count_by_role_follows_updates(user_store: UserStore) -> None:
    user = a_user(role=Role.MEMBER)
    await user_store.add(user)

    await user_store.update(next_version(user, role=Role.MANAGER))

    assert dict(await user_store.count_by_role("co-a")) == counted(manager=1)


async def test_a_user_stamped_by_the_system_clock_reads_back_unchanged(
    user_store: UserStore,
) -> None:
    """MongoDB keeps milliseconds: the production clock tells no finer time."""
    now = SystemClock().now()
    user = a_user(created_at=now, updated_at=now, tokens_valid_after=now)
    await user_store.add(user)

    assert await user_store.get("co-a", "u-1") == user
