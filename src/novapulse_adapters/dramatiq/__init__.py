"""Dramatiq bindings: the job queue on a Redis or stub broker, the actors and the event loop."""

from novapulse_adapters.dramatiq.actors import JobGivenUp, register_actors
from novapulse_adapters.dramatiq.broker import broker_queue_name, build_broker
from novapulse_adapters.dramatiq.queue import DramatiqJobQueue

__all__ = [
    "DramatiqJobQueue",
    "JobGivenUp",
    "broker_queue_name",
    "build_broker",
    "register_actors",
]
