"""The `DepartmentStore` contract, run against every adapter."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.identity import Department
from novapulse_core.domain.paging import PageRequest
from novapulse_core.domain.stats import DepartmentSize
from novapulse_core.ports.stores import DepartmentStore

T0 = datetime(2026, 3, 1, 9, 30, 15, 123000, tzinfo=UTC)


def a_department(
    department_id: str = "d-1", company_id: str = "co-a", **changes: Any
) -> Department:
    department = Department(
        id=department_id,
        company_id=company_id,
        name=f"Department {department_id}",
        created_at=T0,
        updated_at=T0,
    )
    return attrs.evolve(department, **changes)


def next_version(department: Department, **changes: Any) -> Department:
    later = department.updated_at + timedelta(minutes=1)
    return attrs.evolve(department, version=department.version + 1, updated_at=later, **changes)


async def add_all(store: DepartmentStore, *departments: Department) -> None:
    for department in departments:
        await store.add(department)


def ids(departments: Iterable[Department]) -> list[str]:
    return [department.id for department in departments]


# add and get


async def test_an_added_department_reads_back_unchanged_in_its_company(
    department_store: DepartmentStore,
) -> None:
    department = a_department(description="Sells things", member_ids=("u-2", "u-1"))
    await department_store.add(department)

    stored = await department_store.get("co-a", "d-1")

    assert stored == department
    assert stored.created_at.tzinfo == UTC


async def test_a_department_of_another_company_is_not_found(
    department_store: DepartmentStore,
) -> None:
    await department_store.add(a_department(company_id="co-a"))

    with pytest.raises(NotFound):
        await department_store.get("co-b", "d-1")


async def test_an_unknown_department_is_not_found(department_store: DepartmentStore) -> None:
    await department_store.add(a_department())

    with pytest.raises(NotFound):
        await department_store.get("co-a", "d-2")


async def test_a_taken_name_is_a_conflict_on_the_name_field(
    department_store: DepartmentStore,
) -> None:
    await department_store.add(a_department("d-1", name="Sales"))

    with pytest.raises(Conflict) as caught:
        await department_store.add(a_department("d-2", name="Sales"))
    assert caught.value.extra == {"field": "name"}
    with pytest.raises(NotFound):
        await department_store.get("co-a", "d-2")


@pytest.mark.parametrize(("taken", "wanted"), [("Sales", "SALES"), ("Straße", "STRASSE")])
async def test_names_are_compared_without_case(
    department_store: DepartmentStore, taken: str, wanted: str
) -> None:
    await department_store.add(a_department("d-1", name=taken))

    with pytest.raises(Conflict) as caught:
        await department_store.add(a_department("d-2", name=wanted))
    assert caught.value.extra == {"field": "name"}


async def test_the_same_name_is_allowed_in_two_companies(
    department_store: DepartmentStore,
) -> None:
    await department_store.add(a_department("d-1", "co-a", name="Sales"))
    await department_store.add(a_department("d-2", "co-b", name="sales"))

    assert (await department_store.get("co-b", "d-2")).name == "sales"


async def test_a_taken_id_is_a_conflict(department_store: DepartmentStore) -> None:
    await department_store.add(a_department("d-1", name="Sales"))

    with pytest.raises(Conflict):
        await department_store.add(a_department("d-1", name="Support"))
    assert (await department_store.get("co-a", "d-1")).name == "Sales"


# update


async def test_an_update_with_the_next_version_replaces_the_department(
    department_store: DepartmentStore,
) -> None:
    department = a_department(name="Sales")
    await department_store.add(department)
    changed = next_version(
        department, name="Field Sales", description="On the road", member_ids=("u-1",)
    )

    await department_store.update(changed)

    assert await department_store.get("co-a", "d-1") == changed


async def test_a_department_may_change_the_case_of_its_own_name(
    department_store: DepartmentStore,
) -> None:
    department = a_department(name="Sales")
    await department_store.add(department)

    await department_store.update(next_version(department, name="SALES"))

    assert (await department_store.get("co-a", "d-1")).name == "SALES"


async def test_a_rename_frees_the_old_name(department_store: DepartmentStore) -> None:
    department = a_department("d-1", name="Sales")
    await department_store.add(department)

    await department_store.update(next_version(department, name="Revenue"))
    await department_store.add(a_department("d-2", name="Sales"))

    assert (await department_store.get("co-a", "d-2")).name == "Sales"


async def test_a_rename_to_a_taken_name_is_a_conflict_and_changes_nothing(
    department_store: DepartmentStore,
) -> None:
    sales = a_department("d-1", name="Sales")
    await add_all(department_store, sales, a_department("d-2", name="Support"))

    with pytest.raises(Conflict) as caught:
        await department_store.update(next_version(sales, name="support"))
    assert caught.value.extra == {"field": "name"}
    assert await department_store.get("co-a", "d-1") == sales


async def test_a_rename_to_a_name_taken_in_another_company_is_allowed(
    department_store: DepartmentStore,
) -> None:
    sales = a_department("d-1", "co-a", name="Sales")
    await add_all(department_store, sales, a_department("d-2", "co-b", name="Support"))

    await department_store.update(next_version(sales, name="Support"))

    assert (await department_store.get("co-a", "d-1")).name == "Support"


async def test_an_update_from_a_stale_read_is_a_conflict_and_changes_nothing(
    department_store: DepartmentStore,
) -> None:
    department = a_department()
    await department_store.add(department)
    await department_store.update(next_version(department, description="First writer"))

    with pytest.raises(Conflict):
        await department_store.update(next_version(department, description="Second writer"))
    assert (await department_store.get("co-a", "d-1")).description == "First writer"


async def test_an_update_whose_version_skips_ahead_is_a_conflict(
    department_store: DepartmentStore,
) -> None:
    department = a_department()
    await department_store.add(department)

    with pytest.raises(Conflict):
        await department_store.update(attrs.evolve(department, version=3))
    assert await department_store.get("co-a", "d-1") == department


async def test_updating_a_department_through_another_company_is_not_found(
    department_store: DepartmentStore,
) -> None:
    department = a_department(company_id="co-a")
    await department_store.add(department)

    with pytest.raises(NotFound):
        await department_store.update(next_version(department, company_id="co-b"))
    assert await department_store.get("co-a", "d-1") == department


async def test_updating_an_unknown_department_is_not_found(
    department_store: DepartmentStore,
) -> None:
    with pytest.raises(NotFound):
        await department_store.update(next_version(a_department()))


# delete


async def test_a_deleted_department_is_gone_and_frees_its_name(
    department_store: DepartmentStore,
) -> None:
    await add_all(department_store, a_department("d-1", name="Sales"), a_department("d-2"))

    await department_store.delete("co-a", "d-1")

    with pytest.raises(NotFound):
        await department_store.get("co-a", "d-1")
    assert ids(await department_store.list("co-a", PageRequest())) == ["d-2"]
    await department_store.add(a_department("d-3", name="Sales"))


async def test_deleting_through_another_company_is_not_found_and_keeps_it(
    department_store: DepartmentStore,
) -> None:
    department = a_department(company_id="co-a")
    await department_store.add(department)

    with pytest.raises(NotFound):
        await department_store.delete("co-b", "d-1")
    assert await department_store.get("co-a", "d-1") == department


async def test_deleting_an_unknown_department_is_not_found(
    department_store: DepartmentStore,
) -> None:
    with pytest.raises(NotFound):
        await department_store.delete("co-a", "d-1")


# list


async def test_a_page_holds_up_to_limit_plus_one_departments_ordered_by_id(
    department_store: DepartmentStore,
) -> None:
    await add_all(department_store, *(a_department(f"d-{n}") for n in (3, 1, 4, 2)))

    page = await department_store.list("co-a", PageRequest(limit=2))

    assert ids(page) == ["d-1", "d-2", "d-3"]


async def test_a_page_starts_after_the_given_id_and_holds_only_the_company(
    department_store: DepartmentStore,
) -> None:
    await add_all(
        department_store,
        a_department("d-1", "co-a"),
        a_department("d-2", "co-a"),
        a_department("d-3", "co-b"),
        a_department("d-4", "co-a"),
    )

    page = await department_store.list("co-a", PageRequest(after="d-1"))

    assert ids(page) == ["d-2", "d-4"]
    assert ids(await department_store.list("co-a", PageRequest(after="d-4"))) == []


# sizes


async def test_sizes_give_every_department_with_its_member_count_ordered_by_name_ignoring_case(
    department_store: DepartmentStore,
) -> None:
    await add_all(
        department_store,
        a_department("d-1", name="accounts", member_ids=("u-1",)),
        a_department("d-2", name="Engineering", member_ids=("u-2", "u-3", "u-4")),
        a_department("d-3", name="Board"),
        a_department("d-4", "co-b", name="Archive", member_ids=("u-9",)),
        a_department("d-5", name="marketing", member_ids=("u-5", "u-6")),
    )

    sizes = await department_store.sizes("co-a")

    assert list(sizes) == [
        DepartmentSize(department_id="d-1", name="accounts", members=1),
        DepartmentSize(department_id="d-3", name="Board", members=0),
        DepartmentSize(department_id="d-2", name="Engineering", members=3),
        DepartmentSize(department_id="d-5", name="marketing", members=2),
    ]


async def test_sizes_follow_membership_changes(department_store: DepartmentStore) -> None:
    department = a_department(name="Sales", member_ids=("u-1",))
    await department_store.add(department)

    await department_store.update(next_version(department, member_ids=("u-1", "u-2")))

    assert [size.members for size in await department_store.sizes("co-a")] == [2]


async def test_sizes_of_a_company_without_departments_are_empty(
    department_store: DepartmentStore,
) -> None:
    await department_store.add(a_department(company_id="co-b"))

    assert list(await department_store.sizes("co-a")) == []
