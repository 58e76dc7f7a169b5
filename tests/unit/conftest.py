"""Fixtures of the unit suite: a fresh platform per test, and a factory for property tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .kit import Platform, Tenant


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture(scope="session")
def make_platform() -> Callable[[], Platform]:
    """Builds a fresh platform on each call (Hypothesis wants one per example)."""
    return Platform


@pytest.fixture
async def acme(platform: Platform) -> Tenant:
    return await platform.register("Acme")


@pytest.fixture
async def globex(platform: Platform) -> Tenant:
    return await platform.register("Globex")
