"""NovaPulse's own processes collect garbage at their own pace; an embedding service keeps its."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from novapulse_entrypoints.api import app
from novapulse_entrypoints.collector import pace_collector
from novapulse_entrypoints.settings import Settings, SettingsError


@pytest.fixture(autouse=True)
def python_pace() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_the_young_generation_is_collected_at_the_configured_pace() -> None:
    pace_collector(25_000)

    assert gc.get_threshold() == (25_000, 10, 10)


def test_a_pace_of_zero_leaves_pythons_own() -> None:
    pace_collector(0)

    assert gc.get_threshold() == (700, 10, 10)


def test_the_pace_is_ten_thousand_unless_configured() -> None:
    assert Settings.from_env({}).gc_threshold == 10_000
    assert Settings.from_env({"NOVAPULSE_GC_THRESHOLD": "0"}).gc_threshold == 0
    with pytest.raises(SettingsError, match="NOVAPULSE_GC_THRESHOLD"):
        Settings.from_env({"NOVAPULSE_GC_THRESHOLD": "-5"})


def test_the_api_process_factory_sets_the_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVAPULSE_GC_THRESHOLD", "12345")
    monkeypatch.setattr(app, "configure_logging", lambda *_: None)  # this process's stays

    app.create_app_from_env()

    assert gc.get_threshold()[0] == 12345
