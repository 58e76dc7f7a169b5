"""The envelope encoder on orjson: the same JSON as the core's, several times faster."""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from novapulse_core.domain.webhooks import jsonable


def orjson_envelope(value: Mapping[str, object]) -> bytes:
    """An `EnvelopeEncoder`: compact UTF-8 JSON, keys in the envelope's own order."""
    return orjson.dumps(value, default=jsonable)
