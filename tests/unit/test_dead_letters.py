"""The embedded default's broker keeps a bounded number of dead letters per queue."""

from __future__ import annotations

from dramatiq import Message

from novapulse_adapters.dramatiq import build_broker
from novapulse_adapters.dramatiq.broker import broker_queue_name
from novapulse_adapters.dramatiq.queue import DramatiqJobQueue
from novapulse_core.domain.jobs import QueueName


async def test_the_stub_broker_keeps_the_newest_dead_letters_of_each_queue() -> None:
    broker = build_broker(None, stub_dead_letters=2)
    queue = DramatiqJobQueue(broker, namespace="nova")
    name = broker_queue_name("nova", QueueName.EMAIL)
    letters = broker.dead_letters_by_queue[name]  # type: ignore[attr-defined]
    for n in range(3):
        letters.append(Message(name, name, (), {}, {}, message_id=f"job-{n}"))

    assert [m.message_id for m in letters] == ["job-1", "job-2"]
    assert (await queue.depth(QueueName.EMAIL)).dead == 2
    await queue.discard_dead(QueueName.EMAIL, ["job-0", "job-2"])  # job-0's letter went already
    assert [m.message_id for m in letters] == ["job-1"]
