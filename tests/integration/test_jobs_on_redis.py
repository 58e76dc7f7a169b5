"""Jobs end to end on a real Redis: the API (in process) enqueues, `novapulse worker` processes
run the jobs, a real SMTP server receives the emails, and the job records tell the story."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from litestar.testing import TestClient

from novapulse_entrypoints.api import create_app

from .conftest import make_settings, sign_up
from .job_api import add_users, email_queue, job, jobs, moments, recipient, states, walk
from .job_servers import Inbox, Workers, eventually, smtp_server
from .servers import SHARED_KEYS

MAX_RETRIES = 3
BACKOFF_BASE = 0.2
BACKOFF_MAX = 0.5
"""Retry ceilings 0.2, 0.4, then 0.5 (capped): the cap is reached."""

CONCURRENCY = 2
SLOW_SMTP_SECONDS = 0.3
SHUTDOWN_SECONDS = 10

SCHEDULING_SLACK = 1.0
"""How late a retry may come: the worker polls delayed messages every 100 ms, then the queue."""

BROKER_CLOCK_GRANULARITY = 0.001
"""Dramatiq schedules a delayed message at a whole millisecond (its eta truncates the time)."""


# Fixtures


@pytest.fixture
def redis_url(redis_port: int) -> str:
    """The private server, emptied: no queue or record of an earlier test is left."""
    with redis.Redis(host="127.0.0.1", port=redis_port) as client:
        client.flushall()
    return f"redis://127.0.0.1:{redis_port}/0"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def inbox(smtp: tuple[Inbox, int]) -> Inbox:
    return smtp[0]


@pytest.fixture
def env(redis_url: str, smtp: tuple[Inbox, int]) -> dict[str, str]:
    """Settings shared by the API and the workers, with short policies."""
    return {
        **SHARED_KEYS,
        "NOVAPULSE_REDIS_URL": redis_url,
        "NOVAPULSE_SMTP_HOST": "127.0.0.1",
        "NOVAPULSE_SMTP_PORT": str(smtp[1]),
        "NOVAPULSE_SMTP_SECURITY": "none",
        "NOVAPULSE_SMTP_TIMEOUT_SECONDS": "5",
        "NOVAPULSE_QUEUE_EMAIL_MAX_RETRIES": str(MAX_RETRIES),
        "NOVAPULSE_QUEUE_EMAIL_BACKOFF_BASE_SECONDS": str(BACKOFF_BASE),
        "NOVAPULSE_QUEUE_EMAIL_BACKOFF_MAX_SECONDS": str(BACKOFF_MAX),
        "NOVAPULSE_QUEUE_EMAIL_CONCURRENCY": str(CONCURRENCY),
        # A killed worker's messages go back to the queue 1.5 s after its last sign of life,
        # found by the next fetch (every fetch looks).
        "NOVAPULSE_WORKER_HEARTBEAT_TIMEOUT_MS": "1500",
        "NOVAPULSE_WORKER_MAINTENANCE_CHANCE": "1",
        "NOVAPULSE_WORKER_SHUTDOWN_SECONDS": str(SHUTDOWN_SECONDS),
        "NOVAPULSE_LOG_FORMAT": "console",
    }


@pytest.fixture
def client(env: dict[str, str]) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(make_settings(**env))) as test_client:
        yield test_client


@pytest.fixture
def workers(env: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    started = Workers(env, tmp_path)
    try:
        yield started
    finally:
        started.close()
        for worker in started.started:  # shown when the test fails
            print(f"--- {worker.log.name} ---\n{worker.output}")


# The tests


def test_a_welcome_email_enqueued_at_sign_up_is_sent_by_a_worker_and_recorded_step_by_step(
    client: TestClient[Any], workers: Workers, inbox: Inbox
) -> None:
    workers.start("--queue", "email")

    owner = sign_up(client, "Acme", request_id="signup-req-0001")

    (delivery,) = eventually(inbox.received, lambda got: len(got) == 1, "the welcome email")
    (row,) = eventually(
        lambda: jobs(client, owner),
        lambda rows: [r["state"] for r in rows] == ["completed"],
        "the job is completed",
    )
    detail = job(client, owner, row["id"])
    assert walk(detail) == [("waiting", 0), ("active", 1), ("completed", 1)]
    at = moments(detail)
    assert at == sorted(at)
    assert datetime.fromisoformat(detail["created_at"]) == at[0]
    assert datetime.fromisoformat(detail["finished_at"]) == at[-1]
    assert detail["attempts"] == 1
    assert detail["duration_ms"] > 0
    assert detail["request_id"] == "signup-req-0001"
    assert detail["company_id"] == owner.company_id
    assert detail["error_type"] is None
    assert detail["task"] == "email.send"
    assert detail["payload"]["template"] == "welcome"
    assert delivery.recipient == detail["payload"]["to"] == owner.email
    assert delivery.message_id == detail["payload"]["message_id"]
    assert delivery.subject == "Welcome to Acme on NovaPulse"


def test_a_job_that_keeps_failing_backs_off_within_bounds_dies_and_completes_once_requeued(
    client: TestClient[Any], workers: Workers, inbox: Inbox
) -> None:
    inbox.defer()
    workers.start("--queue", "email")

    owner = sign_up(client, "Acme")

    (row,) = eventually(
        lambda: jobs(client, owner),
        lambda rows: [r["state"] for r in rows] == ["dead"],
        "the job is dead",
    )
    detail = job(client, owner, row["id"])
    attempts = MAX_RETRIES + 1
    retried = [[("active", n), ("failed", n), ("retrying", n)] for n in range(1, attempts)]
    assert walk(detail) == [
        ("waiting", 0),
        *(step for steps in retried for step in steps),
        ("active", attempts),
        ("failed", attempts),
        ("dead", attempts),
    ]
    assert detail["attempts"] == attempts
    assert detail["error_type"] == "Unavailable"
    assert "451" in detail["error_message"]
    transitions = detail["transitions"]
    for retry in range(1, attempts):
        ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (retry - 1))
        failed, retrying, next_active = transitions[3 * retry - 1 : 3 * retry + 2]
        assert (failed["state"], retrying["state"], next_active["state"]) == (
            "failed",
            "retrying",
            "active",
        )
        # Equal jitter: the delay drawn lies in [ceiling / 2, ceiling] ...
        assert ceiling / 2 <= retrying["retry_in_seconds"] <= ceiling
        # ... and the next attempt never comes sooner; it may come a little later.
        gap = (
            datetime.fromisoformat(next_active["at"]) - datetime.fromisoformat(failed["at"])
        ).total_seconds()
        assert ceiling / 2 - BROKER_CLOCK_GRANULARITY <= gap, (retry, gap)
        assert gap <= ceiling + SCHEDULING_SLACK, (retry, gap)
    assert inbox.received() == []

    status = eventually(
        lambda: email_queue(client, owner),
        lambda s: s["depth"]["dead"] >= 1,
        "the dashboard counts the dead job",
    )
    assert status["states"]["dead"] == 1
    assert status["max_retries"] == MAX_RETRIES

    inbox.accept()
    response = client.post(f"/api/v1/jobs/{row['id']}/requeue", headers=owner.headers)
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "waiting"
    assert email_queue(client, owner)["depth"]["dead"] == 0  # its dead letter left the broker

    eventually(
        lambda: job(client, owner, row["id"])["state"],
        lambda state: state == "completed",
        "the requeued job completes",
    )
    detail = job(client, owner, row["id"])
    assert walk(detail)[-3:] == [
        ("waiting", attempts),
        ("active", attempts + 1),
        ("completed", attempts + 1),
    ]
    assert detail["attempts"] == attempts + 1
    assert inbox.recipients() == [owner.email]
    assert email_queue(client, owner)["depth"]["dead"] == 0


def test_a_worker_killed_while_holding_jobs_loses_none_of_them(
    client: TestClient[Any], workers: Workers, inbox: Inbox
) -> None:
    inbox.delay_seconds = SLOW_SMTP_SECONDS
    owner = sign_up(client, "Acme")
    everyone = sorted([owner.email, *add_users(client, owner, 20)])
    assert states(jobs(client, owner)) == {"waiting": 21}

    first = workers.start("--queue", "email")
    eventually(
        lambda: states(jobs(client, owner)),
        lambda counted: counted.get("completed", 0) >= 2 and counted.get("active", 0) >= 1,
        "the first worker has completed a few jobs and runs more",
    )
    first.kill()
    assert first.process.returncode == -9
    assert states(jobs(client, owner)).get("completed", 0) < len(everyone)

    workers.start("--queue", "email")
    eventually(
        lambda: states(jobs(client, owner)),
        lambda counted: counted == {"completed": len(everyone)},
        "every job completes on the second worker",
        seconds=30,
    )
    # At least once, not exactly once: a message the SMTP server took just before the kill,
    # but which the dead worker never acknowledged, is sent again by the second worker.
    assert sorted(set(inbox.recipients())) == everyone


def test_sigterm_lets_jobs_in_flight_finish_and_leaves_the_rest_queued_for_the_next_worker(
    client: TestClient[Any], workers: Workers, inbox: Inbox
) -> None:
    inbox.delay_seconds = SLOW_SMTP_SECONDS
    owner = sign_up(client, "Acme")
    everyone = sorted([owner.email, *add_users(client, owner, 11)])

    first = workers.start("--queue", "email")
    in_flight = eventually(
        lambda: jobs(client, owner),
        lambda rows: states(rows).get("completed", 0) >= 1 and states(rows).get("active", 0) >= 1,
        "the worker has completed a job and runs another",
    )
    asked = time.monotonic()
    first.terminate()
    assert first.process.wait(timeout=SHUTDOWN_SECONDS + 10) == 0, first.output
    assert time.monotonic() - asked < SHUTDOWN_SECONDS

    rows = jobs(client, owner)
    counted = states(rows)
    assert set(counted) == {"completed", "waiting"}, counted
    done = {row["id"] for row in rows if row["state"] == "completed"}
    assert {row["id"] for row in in_flight if row["state"] == "active"} <= done
    # The rest wait on the broker's queue. (A message the worker fetched at the very moment it
    # stopped may instead sit among its unacknowledged ones until its heartbeat is missed, as
    # after a crash; Dramatiq's Redis consumer does not hand those back on close.)
    assert 1 <= email_queue(client, owner)["depth"]["waiting"] <= counted["waiting"]
    # A graceful stop sends nothing twice: one email per completed job, so far.
    sent = sorted(recipient(row, client, owner) for row in rows if row["id"] in done)
    assert inbox.recipients() == sent

    workers.start("--queue", "email")
    eventually(
        lambda: states(jobs(client, owner)),
        lambda counted: counted == {"completed": len(everyone)},
        "the second worker completes the rest",
    )
    assert inbox.recipients() == everyone
