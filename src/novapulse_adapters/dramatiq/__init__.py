"""Dramatiq bindings: the job queue on a Redis or stub broker, the actors and the loop worker."""

from novapulse_adapters.dramatiq.actors import register_actors
from novapulse_adapters.dramatiq.attempts import JOB_TIME_LIMIT_SECONDS, Attempts, JobGivenUp
from novapulse_adapters.dramatiq.broker import broker_queue_name, build_broker
from novapulse_adapters.dramatiq.loop_worker import LoopWorker
from novapulse_adapters.dramatiq.queue import DramatiqJobQueue

__all__ = [
    "JOB_TIME_LIMIT_SECONDS",
    "Attempts",
    "DramatiqJobQueue",
    "JobGivenUp",
    "LoopWorker",
    "broker_queue_name",
    "build_broker",
    "register_actors",
]
