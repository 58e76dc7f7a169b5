"""The named tasks a job can run, each bound to the queue whose policy governs it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping

import attrs

from novapulse_core.domain.errors import Invalid
from novapulse_core.domain.jobs import QueueName

Handler = Callable[[Mapping[str, object]], Awaitable[None]]


@attrs.frozen
class Task:
    """A job handler. It must be idempotent: a job is delivered at least once."""

    name: str
    queue: QueueName
    handler: Handler


class TaskRegistry:
    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def register(self, name: str, queue: QueueName, handler: Handler) -> None:
        if name in self._tasks:
            raise ValueError(f"task {name!r} is registered already")
        self._tasks[name] = Task(name, queue, handler)

    def get(self, name: str) -> Task:
        try:
            return self._tasks[name]
        except KeyError:
            raise Invalid(f"no task named {name!r}", extra={"field": "task"}) from None

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks.values())
