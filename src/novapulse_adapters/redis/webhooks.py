"""Webhook endpoints and the delivery log in Redis: every change is one Lua script.

Layout under `{ns}:wh:` (a single Redis node: the delivery scripts compute key names). Hash
fields hold JSON texts the scripts copy without parsing, but for the counters they `HINCRBY`.
- `ep:{id}`: an endpoint's hash; `eps:{company}`: the zero-score set of its company's ids.
- `dl:{id}`: a delivery's hash; `at:{id}`: an attempt's JSON; `dla:{delivery id}`: the ids of
  the delivery's attempts. Both expire (PEXPIREAT) `retention` after the delivery's
  `created_at`: that is the retention.
- `dls:{len(c)}:{c}`, with `:e:{len(e)}:{e}` and/or `:s:{status}`, and `ats:{len(c)}:{c}` with
  `:e:{len(e)}:{e}`: zero-score sets of ids, one per filter, read newest first with
  ZREVRANGEBYLEX. `expiring` (delivery ids by deadline, epoch ms) and `where` (id -> its
  company and endpoint) let every script drop from the sets what has expired.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from redis.asyncio import Redis

from novapulse_adapters.redis.support import text, translated
from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.paging import PageRequest
from novapulse_core.domain.webhooks import (
    DeliveryAttempt,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = ["RedisWebhookDeliveryStore", "RedisWebhookEndpointStore"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_TIMES = frozenset(
    {
        "created_at",
        "updated_at",
        "disabled_at",
        "previous_secret_expires_at",
        "failing_since",
        "last_attempt_at",
        "at",
    }
)

_OWNED = """
local function owned()
  local c = redis.call('HGET', KEYS[1], 'company_id')
  return c and c == ARGV[1]
end
"""

# KEYS: endpoint, company index. ARGV: id, then the hash's field/value pairs.
_ADD_ENDPOINT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
"""

# KEYS: endpoint. ARGV: company (JSON), the version replaced, then field/value pairs.
_UPDATE_ENDPOINT = (
    _OWNED
    + """
if not owned() then return -1 end
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
return 1
"""
)

# KEYS: endpoint, company index. ARGV: company (JSON), id.
_DELETE_ENDPOINT = (
    _OWNED
    + """
if not owned() then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
"""
)

# KEYS: endpoint. ARGV: company (JSON), at (JSON). Returns the hash after, or nil.
_RECORD_FAILURE = (
    _OWNED
    + """
if not owned() then return false end
if redis.call('HGET', KEYS[1], 'failing_since') == 'null' then
  redis.call('HSET', KEYS[1], 'failing_since', ARGV[2])
end
redis.call('HINCRBY', KEYS[1], 'consecutive_failures', 1)
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2])
return redis.call('HGETALL', KEYS[1])
"""
)

# KEYS: endpoint. ARGV: company (JSON), at (JSON).
_RECORD_SUCCESS = (
    _OWNED
    + """
if not owned() then return 0 end
local f = redis.call('HMGET', KEYS[1], 'consecutive_failures', 'failing_since')
if f[1] ~= '0' or f[2] ~= 'null' then
  redis.call('HSET', KEYS[1], 'consecutive_failures', '0', 'failing_since', 'null',
    'updated_at', ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'version', 1)
end
return 1
"""
)

# KEYS: endpoint. ARGV: company (JSON), reason (JSON), at (JSON). -1 gone, 0 already off, or
# the hash after.
_DISABLE = (
    _OWNED
    + """
if not owned() then return -1 end
if redis.call('HGET', KEYS[1], 'active') ~= 'true' then return 0 end
redis.call('HSET', KEYS[1], 'active', 'false', 'disabled_reason', ARGV[2],
  'disabled_at', ARGV[3], 'updated_at', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return redis.call('HGETALL', KEYS[1])
"""
)

# KEYS: company index. ARGV: endpoint key prefix, lower bound, how many (-1: all).
_LIST_ENDPOINTS = """
local ids = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], '+', 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  local row = redis.call('HGETALL', ARGV[1] .. id)
  if #row > 0 then out[#out + 1] = row end
end
return out
"""


def _json(value: object) -> str:
    if isinstance(value, datetime):
        return json.dumps(value.astimezone(UTC).isoformat())
    if isinstance(value, bytes):
        return json.dumps(base64.b64encode(value).decode())
    if isinstance(value, frozenset):
        return json.dumps(sorted(value))
    return json.dumps(value)


def _fields(record: WebhookEndpoint | WebhookDelivery) -> list[str]:
    """The hash of a record: each field's JSON text."""
    values = attrs.asdict(record, recurse=False)
    return [item for name, value in values.items() for item in (name, _json(value))]


def _values(raw: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, encoded in raw.items():
        value = json.loads(encoded)
        if name in _TIMES and value is not None:
            value = datetime.fromisoformat(value)
        values[name] = value
    return values


def _hash(row: Sequence[bytes | str]) -> dict[str, str]:
    """A flat HGETALL reply from a script as a dict of texts."""
    items = [text(item) for item in row]
    return dict(zip(items[::2], items[1::2], strict=True))


def _endpoint(row: Sequence[bytes | str]) -> WebhookEndpoint:
    values = _values(_hash(row))
    values["event_types"] = frozenset(values["event_types"])
    return WebhookEndpoint(**values)


class RedisWebhookEndpointStore:
    """`WebhookEndpointStore` on Redis: every call is one Lua script, one round trip.

    Health changes read and write in one script, so concurrent ones from any process all
    count, and of concurrent `disable`s exactly one finds the endpoint active.
    """

    def __init__(self, client: Redis, *, namespace: str = "nova") -> None:
        self._client = client
        self._prefix = f"{namespace}:wh:"
        self._add = client.register_script(_ADD_ENDPOINT)
        self._update = client.register_script(_UPDATE_ENDPOINT)
        self._delete = client.register_script(_DELETE_ENDPOINT)
        self._failure = client.register_script(_RECORD_FAILURE)
        self._success = client.register_script(_RECORD_SUCCESS)
        self._disable = client.register_script(_DISABLE)
        self._list = client.register_script(_LIST_ENDPOINTS)

    def _key(self, endpoint_id: str) -> str:
        return f"{self._prefix}ep:{endpoint_id}"

    def _index(self, company_id: str) -> str:
        return f"{self._prefix}eps:{company_id}"

    async def add(self, endpoint: WebhookEndpoint) -> None:
        keys = (self._key(endpoint.id), self._index(endpoint.company_id))
        with translated():
            added = await self._add(keys=keys, args=(endpoint.id, *_fields(endpoint)))
        if not added:
            raise Conflict("an endpoint with this id exists")

    async def get(self, company_id: str, endpoint_id: str) -> WebhookEndpoint:
        with translated():
            raw = await self._client.hgetall(self._key(endpoint_id))
        found = {text(name): text(value) for name, value in raw.items()}
        if found.get("company_id") != _json(company_id):
            raise NotFound("no such webhook endpoint")
        return _endpoint([item for pair in found.items() for item in pair])

    async def update(self, endpoint: WebhookEndpoint) -> None:
        args = (_json(endpoint.company_id), str(endpoint.version - 1), *_fields(endpoint))
        with translated():
            done = await self._update(keys=(self._key(endpoint.id),), args=args)
        if done == -1:
            raise NotFound("no such webhook endpoint")
        if not done:
            raise Conflict("the endpoint was changed by someone else; read it again")

    async def delete(self, company_id: str, endpoint_id: str) -> None:
        keys = (self._key(endpoint_id), self._index(company_id))
        with translated():
            deleted = await self._delete(keys=keys, args=(_json(company_id), endpoint_id))
        if not deleted:
            raise NotFound("no such webhook endpoint")

    async def list(self, company_id: str, page: PageRequest) -> Sequence[WebhookEndpoint]:
        lower = "-" if page.after is None else f"({page.after}"
        return await self._rows(company_id, lower, page.limit + 1)

    async def subscribers(self, company_id: str, event_type: str) -> Sequence[WebhookEndpoint]:
        rows = await self._rows(company_id, "-", -1)
        return [e for e in rows if e.active and e.subscribes_to(event_type)]

    async def count(self, company_id: str) -> int:
        with translated():
            return int(await self._client.zcard(self._index(company_id)))

    async def _rows(self, company_id: str, lower: str, count: int) -> Sequence[WebhookEndpoint]:
        args = (f"{self._prefix}ep:", lower, count)
        with translated():
            rows = await self._list(keys=(self._index(company_id),), args=args)
        return [_endpoint(row) for row in rows]

    async def record_failure(
        self, company_id: str, endpoint_id: str, at: datetime
    ) -> WebhookEndpoint:
        args = (_json(company_id), _json(at))
        with translated():
            row = await self._failure(keys=(self._key(endpoint_id),), args=args)
        if row is None:
            raise NotFound("no such webhook endpoint")
        return _endpoint(row)

    async def record_success(self, company_id: str, endpoint_id: str, at: datetime) -> None:
        args = (_json(company_id), _json(at))
        with translated():
            found = await self._success(keys=(self._key(endpoint_id),), args=args)
        if not found:
            raise NotFound("no such webhook endpoint")

    async def disable(
        self, company_id: str, endpoint_id: str, reason: str, at: datetime
    ) -> WebhookEndpoint | None:
        args = (_json(company_id), _json(reason), _json(at))
        with translated():
            reply = await self._disable(keys=(self._key(endpoint_id),), args=args)
        if reply == -1:
            raise NotFound("no such webhook endpoint")
        return None if reply == 0 else _endpoint(reply)


_DELIVERY_PRELUDE = (
    """
if redis.replicate_commands then redis.replicate_commands() end
local P = ARGV[1]
local EXPIRING, WHERE = P .. 'expiring', P .. 'where'
local STATUSES = {"""
    + ", ".join(f"'{status.value}'" for status in DeliveryStatus)
    + """}

local function deliveries(c, e, s)
  local key = P .. 'dls:' .. #c .. ':' .. c
  if e then key = key .. ':e:' .. #e .. ':' .. e end
  if s then key = key .. ':s:' .. s end
  return key
end

local function attempts_of(c, e)
  local key = P .. 'ats:' .. #c .. ':' .. c
  if e then key = key .. ':e:' .. #e .. ':' .. e end
  return key
end

local function index(c, e, s, id)
  for _, key in ipairs({deliveries(c), deliveries(c, e), deliveries(c, nil, s),
                        deliveries(c, e, s)}) do
    redis.call('ZADD', key, 0, id)
  end
end

local function move(c, e, old, new, id)
  if old == new then return end
  redis.call('ZREM', deliveries(c, nil, old), id)
  redis.call('ZREM', deliveries(c, e, old), id)
  redis.call('ZADD', deliveries(c, nil, new), 0, id)
  redis.call('ZADD', deliveries(c, e, new), 0, id)
end

local function forget(id)
  local where = redis.call('HGET', WHERE, id)
  if where then
    local w = cjson.decode(where)
    local c, e = w[1], w[2]
    redis.call('ZREM', deliveries(c), id)
    redis.call('ZREM', deliveries(c, e), id)
    for _, s in ipairs(STATUSES) do
      redis.call('ZREM', deliveries(c, nil, s), id)
      redis.call('ZREM', deliveries(c, e, s), id)
    end
    for _, a in ipairs(redis.call('ZRANGE', P .. 'dla:' .. id, 0, -1)) do
      redis.call('ZREM', attempts_of(c), a)
      redis.call('ZREM', attempts_of(c, e), a)
      redis.call('DEL', P .. 'at:' .. a)
    end
    redis.call('DEL', P .. 'dla:' .. id)
    redis.call('HDEL', WHERE, id)
  end
  redis.call('ZREM', EXPIRING, id)
end

local function prune()
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', EXPIRING, '-inf', now, 'LIMIT', 0, 100)) do
    if redis.call('EXISTS', P .. 'dl:' .. id) == 0 then forget(id) end
  end
end

local function owned(key, company)
  local f = redis.call('HMGET', key, 'company_id', 'endpoint_id', 'status')
  if not f[1] or f[1] ~= company then return nil end
  return {cjson.decode(f[1]), cjson.decode(f[2]), cjson.decode(f[3])}
end
"""
)

# ARGV: prefix, id, company, endpoint, status, deadline (epoch ms), then field/value pairs.
_ADD_DELIVERY = """
prune()
local id, c, e, s = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = P .. 'dl:' .. id
if redis.call('EXISTS', key) == 1 then return 0 end
if redis.call('ZSCORE', EXPIRING, id) then forget(id) end
redis.call('HSET', key, unpack(ARGV, 7))
index(c, e, s, id)
redis.call('HSET', WHERE, id, cjson.encode({c, e}))
redis.call('ZADD', EXPIRING, ARGV[6], id)
redis.call('PEXPIREAT', key, ARGV[6])
return 1
"""

# ARGV: prefix, delivery id, company (JSON), status, attempt id, attempt (JSON), then the
# delivery's field/value pairs to set.
_RECORD_ATTEMPT = """
prune()
local id, aid = ARGV[2], ARGV[5]
local key = P .. 'dl:' .. id
local d = owned(key, ARGV[3])
if not d then return 0 end
move(d[1], d[2], d[3], ARGV[4], id)
redis.call('HINCRBY', key, 'attempts', 1)
redis.call('HSET', key, unpack(ARGV, 7))
local akey = P .. 'at:' .. aid
redis.call('SET', akey, ARGV[6])
local deadline = redis.call('ZSCORE', EXPIRING, id)
if deadline then redis.call('PEXPIREAT', akey, string.format('%.0f', tonumber(deadline))) end
redis.call('ZADD', P .. 'dla:' .. id, 0, aid)
redis.call('ZADD', attempts_of(d[1]), 0, aid)
redis.call('ZADD', attempts_of(d[1], d[2]), 0, aid)
return 1
"""

# ARGV: prefix, delivery id, company (JSON), status, then field/value pairs to set.
_SET_STATUS = """
prune()
local key = P .. 'dl:' .. ARGV[2]
local d = owned(key, ARGV[3])
if not d then return 0 end
move(d[1], d[2], d[3], ARGV[4], ARGV[2])
redis.call('HSET', key, unpack(ARGV, 5))
return 1
"""

_NEWEST_FIRST = """
local function newest_first(key, upper, want, record_key, read)
  local out = {}
  while #out < want do
    local ids = redis.call('ZREVRANGEBYLEX', key, upper, '-', 'LIMIT', 0, want - #out)
    if #ids == 0 then break end
    for _, id in ipairs(ids) do
      local record = redis.call(read, P .. record_key .. id)
      if record and #record > 0 then out[#out + 1] = record else redis.call('ZREM', key, id) end
      upper = '(' .. id
    end
  end
  return out
end
"""

# ARGV: prefix, company, upper bound, how many, endpoint or '', 1/0, status or '', 1/0.
_LIST_DELIVERIES = """
prune()
local e, s = nil, nil
if ARGV[6] == '1' then e = ARGV[5] end
if ARGV[8] == '1' then s = ARGV[7] end
return newest_first(deliveries(ARGV[2], e, s), ARGV[3], tonumber(ARGV[4]), 'dl:', 'HGETALL')
"""

# ARGV: prefix, company, upper bound, how many, endpoint or '', 1/0, delivery or '', 1/0,
# company (JSON), endpoint (JSON).
_LIST_ATTEMPTS = """
prune()
local e = nil
if ARGV[6] == '1' then e = ARGV[5] end
local key = attempts_of(ARGV[2], e)
if ARGV[8] == '1' then
  local f = redis.call('HMGET', P .. 'dl:' .. ARGV[7], 'company_id', 'endpoint_id')
  if f[1] ~= ARGV[9] or (e and f[2] ~= ARGV[10]) then return {} end
  key = P .. 'dla:' .. ARGV[7]
end
return newest_first(key, ARGV[3], tonumber(ARGV[4]), 'at:', 'GET')
"""


def _delivery(row: Sequence[bytes | str]) -> WebhookDelivery:
    values = _values(_hash(row))
    values["payload"] = base64.b64decode(values["payload"])
    values["status"] = DeliveryStatus(values["status"])
    return WebhookDelivery(**values)


def _attempt_json(attempt: DeliveryAttempt) -> str:
    values = attrs.asdict(attempt, recurse=False)
    return json.dumps({**values, "at": attempt.at.astimezone(UTC).isoformat()})


def _attempt(raw: bytes | str) -> DeliveryAttempt:
    values = json.loads(text(raw))
    return DeliveryAttempt(**{**values, "at": datetime.fromisoformat(values["at"])})


class RedisWebhookDeliveryStore:
    """`WebhookDeliveryStore` on Redis: every call is one Lua script, one round trip.

    A delivery and its attempts expire `retention` after the delivery's `created_at`, by the
    server's clock (PEXPIREAT). An attempt is listed under its delivery's endpoint.
    """

    def __init__(self, client: Redis, *, namespace: str = "nova", retention: timedelta) -> None:
        self._client = client
        self._prefix = f"{namespace}:wh:"
        self._retention = retention
        self._add = client.register_script(_DELIVERY_PRELUDE + _ADD_DELIVERY)
        self._record = client.register_script(_DELIVERY_PRELUDE + _RECORD_ATTEMPT)
        self._set_status = client.register_script(_DELIVERY_PRELUDE + _SET_STATUS)
        self._list = client.register_script(_DELIVERY_PRELUDE + _NEWEST_FIRST + _LIST_DELIVERIES)
        self._attempts = client.register_script(_DELIVERY_PRELUDE + _NEWEST_FIRST + _LIST_ATTEMPTS)

    async def add(self, delivery: WebhookDelivery) -> None:
        deadline = -(-(delivery.created_at + self._retention - _EPOCH) // _MILLISECOND)
        args = (
            self._prefix,
            delivery.id,
            delivery.company_id,
            delivery.endpoint_id,
            delivery.status.value,
            deadline,
            *_fields(delivery),
        )
        with translated():
            added = await self._add(args=args)
        if not added:
            raise Conflict("a delivery with this id exists")

    async def get(self, company_id: str, delivery_id: str) -> WebhookDelivery:
        with translated():
            raw = await self._client.hgetall(f"{self._prefix}dl:{delivery_id}")
        found = {text(name): text(value) for name, value in raw.items()}
        if found.get("company_id") != _json(company_id):
            raise NotFound("no such webhook delivery")
        return _delivery([item for pair in found.items() for item in pair])

    async def record_attempt(self, attempt: DeliveryAttempt, status: DeliveryStatus) -> None:
        summary = {
            "status": status.value,
            "last_attempt_at": attempt.at,
            "last_status_code": attempt.status_code,
            "last_error": attempt.error,
        }
        args = (
            self._prefix,
            attempt.delivery_id,
            _json(attempt.company_id),
            status.value,
            attempt.id,
            _attempt_json(attempt),
            *(item for name, value in summary.items() for item in (name, _json(value))),
        )
        with translated():
            recorded = await self._record(args=args)
        if not recorded:
            raise NotFound("no such webhook delivery")

    async def set_status(
        self,
        company_id: str,
        delivery_id: str,
        status: DeliveryStatus,
        *,
        error: str | None = None,
    ) -> None:
        fields = ["status", _json(status.value)]
        if error is not None:
            fields += ["last_error", _json(error)]
        args = (self._prefix, delivery_id, _json(company_id), status.value, *fields)
        with translated():
            changed = await self._set_status(args=args)
        if not changed:
            raise NotFound("no such webhook delivery")

    async def list(
        self,
        company_id: str,
        page: PageRequest,
        *,
        endpoint_id: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> Sequence[WebhookDelivery]:
        args = _newest_first(
            self._prefix, company_id, page, endpoint_id, None if status is None else status.value
        )
        with translated():
            rows = await self._list(args=args)
        return [_delivery(row) for row in rows]

    async def attempts(
        self,
        company_id: str,
        page: PageRequest,
        *,
        endpoint_id: str | None = None,
        delivery_id: str | None = None,
    ) -> Sequence[DeliveryAttempt]:
        args = (
            *_newest_first(self._prefix, company_id, page, endpoint_id, delivery_id),
            _json(company_id),
            _json(endpoint_id),
        )
        with translated():
            rows = await self._attempts(args=args)
        return [_attempt(row) for row in rows]


def _newest_first(
    prefix: str, company_id: str, page: PageRequest, *filters: str | None
) -> tuple[str | int, ...]:
    """The arguments of a newest-first page script: the upper bound (below `page.after`), the
    row count (one extra says there is more), then each filter as its value and an is-set flag."""
    args: list[str | int] = [
        prefix,
        company_id,
        "+" if page.after is None else f"({page.after}",
        page.limit + 1,
    ]
    for value in filters:
        args += [value or "", 0 if value is None else 1]
    return tuple(args)
