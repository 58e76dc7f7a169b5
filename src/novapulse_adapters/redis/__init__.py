"""Redis adapters (redis-py's asyncio client): job records, rate limits, MFA and session state."""

from novapulse_adapters.redis.cache import RedisCache
from novapulse_adapters.redis.client import redis_client
from novapulse_adapters.redis.jobs import RedisJobStore
from novapulse_adapters.redis.limits import RedisRateLimiter
from novapulse_adapters.redis.mfa import RedisOtpReplayStore
from novapulse_adapters.redis.refresh import RedisRefreshTokenStore
from novapulse_adapters.redis.sessions import RedisChallengeStore, RedisTokenRevocations
from novapulse_adapters.redis.webhooks import RedisWebhookDeliveryStore, RedisWebhookEndpointStore

__all__ = [
    "RedisCache",
    "RedisChallengeStore",
    "RedisJobStore",
    "RedisOtpReplayStore",
    "RedisRateLimiter",
    "RedisRefreshTokenStore",
    "RedisTokenRevocations",
    "RedisWebhookDeliveryStore",
    "RedisWebhookEndpointStore",
    "redis_client",
]
