"""Job records in Redis, shared by API and worker processes; Lua scripts keep every index exact.

Layout under the namespace prefix `{ns}:` (a single Redis node; the scripts compute key names):
- `job:{id}`: a hash. `static` holds the JSON of the fields that never change; `queue`, `state`,
  `attempts`, `company` are plain; the other mutable fields are JSON texts the scripts copy
  without parsing (so floats and strings round-trip exactly); `transitions` is a JSON array.
- `jobs:idx:all`, `jobs:idx:q=..`, `..:s=..`, `..:c=..` and their combinations (in the order
  q, s, c): zero-score sorted sets of ids, one per filter `list` accepts, read newest first
  with ZREVRANGEBYLEX. `counts` is the ZCARD of each `jobs:idx:q=..:s=..`.
- `jobs:tp:{queue}`: finished attempts scored by epoch microseconds, member
  `state|id|n|duration`, trimmed to `throughput_horizon` before the newest attempt recorded;
  `jobs:tp:{queue}:c={company}` the same for one company's jobs (`counts` of one company read
  the `..:c=..` indexes).
- `jobs:expiring` (ids scored by their deadline in epoch ms) and `jobs:expiring:index` (id ->
  where it is indexed): a finished job's hash expires at `finished_at + retention` (PEXPIREAT);
  every script first removes from the indexes the ids whose hash has expired.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from novapulse_adapters.memory.jobs import throughput_of
from novapulse_core.domain.errors import Conflict, NotFound, Unavailable
from novapulse_core.domain.jobs import (
    FINISHED,
    Job,
    JobState,
    JobTransition,
    QueueName,
    QueueThroughput,
)
from novapulse_core.domain.paging import PageRequest

__all__ = ["DEFAULT_THROUGHPUT_HORIZON", "RedisJobStore"]

DEFAULT_THROUGHPUT_HORIZON = timedelta(hours=2)
"""How far back `throughput` can look: older attempts are trimmed from Redis."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_PRELUDE = """
if redis.replicate_commands then redis.replicate_commands() end
local P = ARGV[1]
local EXPIRING = P .. 'jobs:expiring'
local WHERE = P .. 'jobs:expiring:index'

local function static_keys(q, c)
  local keys = {P .. 'jobs:idx:all', P .. 'jobs:idx:q=' .. q}
  if c then
    keys[3] = P .. 'jobs:idx:c=' .. c
    keys[4] = P .. 'jobs:idx:q=' .. q .. ':c=' .. c
  end
  return keys
end

local function state_keys(q, s, c)
  local keys = {P .. 'jobs:idx:s=' .. s, P .. 'jobs:idx:q=' .. q .. ':s=' .. s}
  if c then
    keys[3] = P .. 'jobs:idx:s=' .. s .. ':c=' .. c
    keys[4] = P .. 'jobs:idx:q=' .. q .. ':s=' .. s .. ':c=' .. c
  end
  return keys
end

local function index(keys, id)
  for _, key in ipairs(keys) do redis.call('ZADD', key, 0, id) end
end

local function unindex(keys, id)
  for _, key in ipairs(keys) do redis.call('ZREM', key, id) end
end

local function finished(s) return s == 'completed' or s == 'dead' end

local function forget(id)
  local where = redis.call('HGET', WHERE, id)
  if where then
    local w = cjson.decode(where)
    unindex(static_keys(w[1], w[3]), id)
    unindex(state_keys(w[1], w[2], w[3]), id)
    redis.call('HDEL', WHERE, id)
  end
  redis.call('ZREM', EXPIRING, id)
end

local function prune()
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local due = redis.call('ZRANGEBYSCORE', EXPIRING, '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(due) do
    if redis.call('EXISTS', P .. 'job:' .. id) == 0 then forget(id) end
  end
  return now
end

local function settle(id, key, q, c, old, new, deadline, now)
  if old ~= new then
    if old then unindex(state_keys(q, old, c), id) end
    index(state_keys(q, new, c), id)
  end
  if finished(new) and deadline and deadline ~= '' then
    redis.call('HSET', WHERE, id, cjson.encode({q, new, c}))
    redis.call('ZADD', EXPIRING, deadline, id)
    redis.call('PEXPIREAT', key, deadline)
    if tonumber(deadline) <= now then
      redis.call('DEL', key)
      forget(id)
    end
  elseif old and finished(old) then
    redis.call('PERSIST', key)
    redis.call('HDEL', WHERE, id)
    redis.call('ZREM', EXPIRING, id)
  end
end
"""

# ARGV: prefix, id, queue, state, company, has company (1/0), deadline ms, k, k (score,
# member) throughput pairs, then the hash's field/value pairs.
_ADD = """
local now = prune()
local id, q, s = ARGV[2], ARGV[3], ARGV[4]
local c = nil
if ARGV[6] == '1' then c = ARGV[5] end
local key = P .. 'job:' .. id
if redis.call('EXISTS', key) == 1 then return 0 end
if redis.call('ZSCORE', EXPIRING, id) then forget(id) end
local first = 9 + 2 * tonumber(ARGV[8])
local fields = {}
for i = first, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', key, unpack(fields))
index(static_keys(q, c), id)
for i = 9, first - 1, 2 do
  redis.call('ZADD', P .. 'jobs:tp:' .. q, ARGV[i], ARGV[i + 1])
  if c then redis.call('ZADD', P .. 'jobs:tp:' .. q .. ':c=' .. c, ARGV[i], ARGV[i + 1]) end
end
settle(id, key, q, c, nil, s, ARGV[7], now)
return 1
"""

# ARGV: prefix, throughput cutoff (epoch us), then per transition: id, state, attempt, at
# (JSON), error type, error message, duration (JSON), the transition (JSON), at (epoch us),
# deadline (epoch ms) should it finish the job.
_RECORD = """
local now = prune()
local jobs, order, touched = {}, {}, {}
for i = 3, #ARGV, 10 do
  local id = ARGV[i]
  local job = jobs[id]
  if job == nil then
    local key = P .. 'job:' .. id
    local f = redis.call('HMGET', key, 'queue', 'company', 'state', 'attempts', 'error_type',
      'error_message', 'duration_ms', 'transitions', 'n')
    job = false
    if f[1] then
      job = {key = key, q = f[1], c = f[2], old = f[3], attempts = f[4], error_type = f[5],
        error_message = f[6], duration = f[7], transitions = f[8], n = tonumber(f[9]), added = {}}
      order[#order + 1] = id
    end
    jobs[id] = job
  end
  if job then
    local s, at, duration = ARGV[i + 1], ARGV[i + 3], ARGV[i + 6]
    job.s = s
    if tonumber(ARGV[i + 2]) > tonumber(job.attempts) then job.attempts = ARGV[i + 2] end
    job.updated_at = at
    job.finished_at = 'null'
    if finished(s) then
      job.finished_at = at
      job.deadline = ARGV[i + 9]
    end
    if s == 'failed' or s == 'dead' then
      job.error_type = ARGV[i + 4]
      job.error_message = ARGV[i + 5]
    end
    if duration ~= 'null' then job.duration = duration end
    job.n = job.n + 1
    job.added[#job.added + 1] = ARGV[i + 7]
    if s == 'completed' or s == 'failed' then
      local tp = P .. 'jobs:tp:' .. job.q
      local attempt = s .. '|' .. id .. '|' .. job.n .. '|' .. duration
      redis.call('ZADD', tp, ARGV[i + 8], attempt)
      touched[tp] = true
      if job.c and job.c ~= '' then
        redis.call('ZADD', tp .. ':c=' .. job.c, ARGV[i + 8], attempt)
        touched[tp .. ':c=' .. job.c] = true
      end
    end
  end
end
for _, id in ipairs(order) do
  local job = jobs[id]
  local added = table.concat(job.added, ',')
  local transitions = '[' .. added .. ']'
  if job.transitions ~= '[]' then
    transitions = string.sub(job.transitions, 1, -2) .. ',' .. added .. ']'
  end
  redis.call('HSET', job.key, 'state', job.s, 'attempts', job.attempts,
    'updated_at', job.updated_at, 'finished_at', job.finished_at,
    'error_type', job.error_type, 'error_message', job.error_message,
    'duration_ms', job.duration, 'transitions', transitions, 'n', job.n)
  settle(id, job.key, job.q, job.c, job.old, job.s, job.deadline, now)
end
for tp in pairs(touched) do redis.call('ZREMRANGEBYSCORE', tp, '-inf', '(' .. ARGV[2]) end
return #order
"""

# `_RECORD` of one transition, applied only while its job is dead (-1 when it is not).
_RECORD_IF_DEAD = (
    """
if redis.call('HGET', P .. 'job:' .. ARGV[3], 'state') ~= 'dead' then return -1 end
"""
    + _RECORD
)

# ARGV: prefix, index key (without prefix), after, has after (1/0), how many.
_LIST = """
prune()
local key = P .. ARGV[2]
local upper = '+'
if ARGV[4] == '1' then upper = '(' .. ARGV[3] end
local want = tonumber(ARGV[5])
local out = {}
while #out < want do
  local ids = redis.call('ZREVRANGEBYLEX', key, upper, '-', 'LIMIT', 0, want - #out)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    local record = redis.call('HGETALL', P .. 'job:' .. id)
    if #record > 0 then out[#out + 1] = record else redis.call('ZREM', key, id) end
    upper = '(' .. id
  end
end
return out
"""

# ARGV: prefix, queue, company ('' for every company), then the states.
_COUNTS = """
prune()
local out = {}
local company = ''
if ARGV[3] ~= '' then company = ':c=' .. ARGV[3] end
for i = 4, #ARGV do
  out[#out + 1] = redis.call('ZCARD', P .. 'jobs:idx:q=' .. ARGV[2] .. ':s=' .. ARGV[i] .. company)
end
return out
"""


@contextmanager
def _translated() -> Iterator[None]:
    """Run a Redis call, turning a lost or slow server into `Unavailable`."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as error:
        raise Unavailable("Redis cannot be reached right now; try again shortly") from error


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def _transition_json(t: JobTransition) -> str:
    return json.dumps(
        {
            "job_id": t.job_id,
            "state": t.state.value,
            "at": _iso(t.at),
            "attempt": t.attempt,
            "error_type": t.error_type,
            "error_message": t.error_message,
            "duration_ms": t.duration_ms,
            "retry_in_seconds": t.retry_in_seconds,
        }
    )


def _transition(doc: Mapping[str, Any]) -> JobTransition:
    return JobTransition(
        job_id=doc["job_id"],
        state=JobState(doc["state"]),
        at=datetime.fromisoformat(doc["at"]).astimezone(UTC),
        attempt=doc["attempt"],
        error_type=doc["error_type"],
        error_message=doc["error_message"],
        duration_ms=doc["duration_ms"],
        retry_in_seconds=doc["retry_in_seconds"],
    )


def _job_fields(job: Job) -> list[str]:
    static = {
        "id": job.id,
        "queue": job.queue.value,
        "task": job.task,
        "payload": dict(job.payload),
        "created_at": _iso(job.created_at),
        "company_id": job.company_id,
        "request_id": job.request_id,
    }
    fields = {
        "static": json.dumps(static),
        "queue": job.queue.value,
        "state": job.state.value,
        "attempts": str(job.attempts),
        "updated_at": json.dumps(_iso(job.updated_at)),
        "finished_at": json.dumps(_iso(job.finished_at)),
        "error_type": json.dumps(job.error_type),
        "error_message": json.dumps(job.error_message),
        "duration_ms": json.dumps(job.duration_ms),
        "transitions": "[" + ",".join(_transition_json(t) for t in job.transitions) + "]",
        "n": str(len(job.transitions)),
    }
    if job.company_id is not None:
        fields["company"] = job.company_id
    return [item for pair in fields.items() for item in pair]


def _job(raw: Mapping[str, str]) -> Job:
    static = json.loads(raw["static"])
    return Job(
        id=static["id"],
        queue=QueueName(static["queue"]),
        task=static["task"],
        payload=static["payload"],
        created_at=datetime.fromisoformat(static["created_at"]).astimezone(UTC),
        company_id=static["company_id"],
        request_id=static["request_id"],
        state=JobState(raw["state"]),
        attempts=int(raw["attempts"]),
        updated_at=_moment(json.loads(raw["updated_at"])),
        finished_at=_moment(json.loads(raw["finished_at"])),
        error_type=json.loads(raw["error_type"]),
        error_message=json.loads(raw["error_message"]),
        duration_ms=json.loads(raw["duration_ms"]),
        transitions=tuple(_transition(doc) for doc in json.loads(raw["transitions"])),
    )


def _flat_job(flat: Sequence[bytes | str]) -> Job:
    texts = [_text(item) for item in flat]
    return _job(dict(zip(texts[::2], texts[1::2], strict=True)))


def _attempt(member: bytes | str) -> tuple[JobState, float | None]:
    text = _text(member)
    state, _, rest = text.partition("|")
    duration = json.loads(rest.rpartition("|")[2])
    return JobState(state), None if duration is None else float(duration)


def _index_key(queue: QueueName | None, state: JobState | None, company_id: str | None) -> str:
    parts = [f"q={queue.value}"] if queue is not None else []
    parts += [f"s={state.value}"] if state is not None else []
    parts += [f"c={company_id}"] if company_id is not None else []
    return "jobs:idx:" + (":".join(parts) or "all")


class RedisJobStore:
    """`JobStore` on Redis: each call is one round trip (a Lua script, or one read command).

    `record` applies a whole batch server-side with the rule of `apply`. Finished jobs expire
    `retention` after their `finished_at`; `throughput` sees `throughput_horizon` back at most.
    """

    def __init__(
        self,
        client: Redis,
        *,
        namespace: str = "nova",
        retention: timedelta,
        throughput_horizon: timedelta = DEFAULT_THROUGHPUT_HORIZON,
    ) -> None:
        self._client = client
        self._prefix = f"{namespace}:"
        self._retention_us = retention // _MICROSECOND
        self._horizon_us = throughput_horizon // _MICROSECOND
        self._add = client.register_script(_PRELUDE + _ADD)
        self._record = client.register_script(_PRELUDE + _RECORD)
        self._record_if_dead = client.register_script(_PRELUDE + _RECORD_IF_DEAD)
        self._list = client.register_script(_PRELUDE + _LIST)
        self._counts = client.register_script(_PRELUDE + _COUNTS)

    def _deadline_ms(self, finished_at: datetime) -> str:
        return str(-(-(_micros(finished_at) + self._retention_us) // 1000))

    async def add(self, job: Job) -> None:
        attempts = [
            (str(_micros(t.at)), f"{t.state.value}|{job.id}|{n}|{json.dumps(t.duration_ms)}")
            for n, t in enumerate(job.transitions, start=1)
            if t.state in (JobState.COMPLETED, JobState.FAILED)
        ]
        finished_at = job.finished_at if job.state in FINISHED else None
        args = [
            self._prefix,
            job.id,
            job.queue.value,
            job.state.value,
            job.company_id or "",
            "0" if job.company_id is None else "1",
            "" if finished_at is None else self._deadline_ms(finished_at),
            str(len(attempts)),
            *(item for pair in attempts for item in pair),
            *_job_fields(job),
        ]
        with _translated():
            added = await self._add(args=args)
        if not added:
            raise Conflict("a job with this id exists")

    async def record(self, transitions: Sequence[JobTransition]) -> None:
        if not transitions:
            return
        with _translated():
            await self._record(args=self._record_args(transitions))

    async def record_if_dead(self, transition: JobTransition) -> bool:
        with _translated():
            applied = await self._record_if_dead(args=self._record_args([transition]))
        return int(applied) == 1

    def _record_args(self, transitions: Sequence[JobTransition]) -> list[str]:
        newest = max(_micros(t.at) for t in transitions)
        args: list[str] = [self._prefix, str(newest - self._horizon_us)]
        for t in transitions:
            args += [
                t.job_id,
                t.state.value,
                str(t.attempt),
                json.dumps(_iso(t.at)),
                json.dumps(t.error_type),
                json.dumps(t.error_message),
                json.dumps(t.duration_ms),
                _transition_json(t),
                str(_micros(t.at)),
                self._deadline_ms(t.at),
            ]
        return args

    async def get(self, job_id: str) -> Job:
        with _translated():
            raw = await self._client.hgetall(f"{self._prefix}job:{job_id}")
        if not raw:
            raise NotFound("no such job")
        return _job({_text(key): _text(value) for key, value in raw.items()})

    async def list(
        self,
        page: PageRequest,
        *,
        queue: QueueName | None = None,
        state: JobState | None = None,
        company_id: str | None = None,
    ) -> Sequence[Job]:
        after = page.after
        args = [
            self._prefix,
            _index_key(queue, state, company_id),
            after or "",
            "0" if after is None else "1",
            str(page.limit + 1),
        ]
        with _translated():
            rows = await self._list(args=args)
        return [_flat_job(row) for row in rows]

    async def counts(
        self, queue: QueueName, *, company_id: str | None = None
    ) -> Mapping[JobState, int]:
        states = list(JobState)
        args = [self._prefix, queue.value, company_id or "", *states]
        with _translated():
            sizes = await self._counts(args=args)
        return {state: int(size) for state, size in zip(states, sizes, strict=True)}

    async def throughput(
        self, queue: QueueName, since: datetime, *, company_id: str | None = None
    ) -> QueueThroughput:
        key = f"{self._prefix}jobs:tp:{queue.value}"
        if company_id is not None:
            key += f":c={company_id}"
        with _translated():
            members = await self._client.zrangebyscore(key, _micros(since), "+inf")
        return throughput_of(_attempt(cast(bytes | str, member)) for member in members)
