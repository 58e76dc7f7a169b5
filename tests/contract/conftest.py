"""Port fixtures for the contract suites: each test runs once per adapter, started lazily."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import NoReturn

import pytest

from novapulse_adapters.memory import (
    InMemoryCompanyStore,
    InMemoryDepartmentStore,
    InMemoryUserStore,
)
from novapulse_adapters.mongo import (
    BeanieCompanyStore,
    BeanieDepartmentStore,
    BeanieUserStore,
    MongoConnection,
)
from novapulse_core.domain.errors import Unavailable
from novapulse_core.ports.stores import CompanyStore, DepartmentStore, UserStore
from support.mongo_standin import mongo_url_for_tests, new_standin_client, redacted_url

BACKENDS = ["memory", "mongo"]
REAL_MONGO_TIMEOUT_MS = 2000


def _unreachable(message: str) -> NoReturn:
    """A backend that cannot be reached skips locally and fails on CI."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def unreachable_backends() -> dict[str, str]:
    """Backends found unreachable in this session, so later tests skip without waiting again."""
    return {}


@pytest.fixture
async def mongo_connection(
    unreachable_backends: dict[str, str],
) -> AsyncIterator[MongoConnection]:
    """A fresh database: a new stand-in client, or a new database on the real MongoDB."""
    url = mongo_url_for_tests()
    if url is None:
        async with MongoConnection(client=new_standin_client(), database="contract") as standin:
            yield standin
        return
    if "mongo" in unreachable_backends:
        _unreachable(unreachable_backends["mongo"])
    name = f"novapulse_contract_{uuid.uuid4().hex[:12]}"
    connection = MongoConnection(url, name, server_selection_timeout_ms=REAL_MONGO_TIMEOUT_MS)
    try:
        await connection.open()
    except Unavailable:
        await connection.close()
        unreachable_backends["mongo"] = f"MongoDB at {redacted_url(url)} cannot be reached"
        _unreachable(unreachable_backends["mongo"])
    try:
        yield connection
    finally:
        await connection.database.client.drop_database(name)
        await connection.close()


@pytest.fixture(params=BACKENDS)
def company_store(request: pytest.FixtureRequest) -> CompanyStore:
    store: CompanyStore = request.getfixturevalue(f"{request.param}_company_store")
    return store


@pytest.fixture(params=BACKENDS)
def user_store(request: pytest.FixtureRequest) -> UserStore:
    store: UserStore = request.getfixturevalue(f"{request.param}_user_store")
    return store


@pytest.fixture(params=BACKENDS)
def department_store(request: pytest.FixtureRequest) -> DepartmentStore:
    store: DepartmentStore = request.getfixturevalue(f"{request.param}_department_store")
    return store


@pytest.fixture
def memory_company_store() -> InMemoryCompanyStore:
    return InMemoryCompanyStore()


@pytest.fixture
def memory_user_store() -> InMemoryUserStore:
    return InMemoryUserStore()


@pytest.fixture
def memory_department_store() -> InMemoryDepartmentStore:
    return InMemoryDepartmentStore()


@pytest.fixture
def mongo_company_store(mongo_connection: MongoConnection) -> BeanieCompanyStore:
    return BeanieCompanyStore()


@pytest.fixture
def mongo_user_store(mongo_connection: MongoConnection) -> BeanieUserStore:
    return BeanieUserStore()


@pytest.fixture
def mongo_department_store(mongo_connection: MongoConnection) -> BeanieDepartmentStore:
    return BeanieDepartmentStore()
