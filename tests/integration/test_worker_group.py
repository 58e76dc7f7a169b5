"""The worker group's own event loop never outlives a failed start or a rough shutdown."""

from __future__ import annotations

import pytest
from dramatiq.asyncio import get_event_loop_thread

from novapulse_entrypoints.container import build_container

from .conftest import make_settings


async def _refuse() -> None:
    raise ConnectionRefusedError("the store is down")


def test_a_failed_start_releases_the_loop_so_the_process_can_exit_or_start_again() -> None:
    services = build_container(make_settings())
    group = services.worker_group()

    with pytest.raises(ConnectionRefusedError):
        group.start(prepare=_refuse)

    assert get_event_loop_thread() is None
    again = services.worker_group()
    again.start()
    again.stop(5)
    assert get_event_loop_thread() is None
