"""Password hashing off the event loop, on a few threads of its own.

An Argon2 hash takes tens of milliseconds of CPU by design; on the event loop it would stall
every other request of the process meanwhile. argon2-cffi releases the GIL while it hashes, so
on these threads hashes also run in parallel, at most one per core, and a flood of logins
queues here without taking the threads the rest of the process shares.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None


def _forget_pool() -> None:
    global _pool
    _pool = None  # a forked child has none of the parent's threads


os.register_at_fork(after_in_child=_forget_pool)


async def off_loop(work: Callable[..., T], *args: object) -> T:
    """`work(*args)` on the hashing threads."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(os.cpu_count() or 2, thread_name_prefix="novapulse-hash")
    return await asyncio.get_running_loop().run_in_executor(_pool, work, *args)
