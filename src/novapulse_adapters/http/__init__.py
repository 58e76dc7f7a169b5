"""Outgoing HTTP: the webhook transport on aiohttp, its SSRF-guarded resolver, orjson encoding.

Needs the `webhooks` extra: `pip install "novapulse[webhooks]"`.
"""

from novapulse_adapters.http.encoding import orjson_envelope
from novapulse_adapters.http.metered import MeteredWebhookTransport, delivery_outcome
from novapulse_adapters.http.resolver import AddressRefused, GuardedResolver, SystemHostResolver
from novapulse_adapters.http.transport import AiohttpWebhookTransport

__all__ = [
    "AddressRefused",
    "AiohttpWebhookTransport",
    "GuardedResolver",
    "MeteredWebhookTransport",
    "SystemHostResolver",
    "delivery_outcome",
    "orjson_envelope",
]
