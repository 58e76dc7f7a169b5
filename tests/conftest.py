"""Settings shared by every test suite."""

from __future__ import annotations

import pytest


def pytest_report_header(config: pytest.Config) -> str:
    """Say where the mongo contract tests run: a real MongoDB or the in-process stand-in."""
    from support.mongo_standin import describe_mongo_target

    return describe_mongo_target()
