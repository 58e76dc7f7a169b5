"""Redis adapters (redis-py's asyncio client): job records shared by the API and the workers."""

from novapulse_adapters.redis.jobs import RedisJobStore

__all__ = ["RedisJobStore"]
