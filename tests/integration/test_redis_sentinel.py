"""Redis behind Sentinel (the seed's "high availability via replication"): NovaPulse asks the
Sentinels where the primary is, and after a failover serves from the replica they promoted."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from litestar.testing import TestClient

from novapulse_adapters.redis import redis_client
from novapulse_entrypoints.api import create_app

from .conftest import PASSWORD, make_settings, sign_up
from .servers import free_port
from .test_rate_limits import LIMITED

PRIMARY_NAME = "novapulse-primary"


class ReplicatedRedis:
    """A primary, its replica and one Sentinel watching them, each a redis-server of its own."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if os.environ.get("CI"):
                pytest.fail("redis-server is not installed")
            pytest.skip("redis-server is not installed")
        self.primary_port, self.replica_port, self.sentinel_port = (free_port() for _ in "prs")
        # in the test's directory: a replica's full sync writes a dump file where it runs
        common = [
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ]
        self.primary = self._start([binary, "--port", str(self.primary_port), *common])
        replica_of = ["--replicaof", "127.0.0.1", str(self.primary_port)]
        self.replica = self._start([binary, "--port", str(self.replica_port), *common, *replica_of])
        for port in (self.primary_port, self.replica_port):
            eventually(lambda port=port: redis.Redis(port=port).ping())  # type: ignore[misc]
        # Sentinel finds replicas in the primary's INFO, which it reads every 10 s: start it
        # once the replica is attached, so that its first reading finds it
        eventually(lambda: self._replication(self.replica_port)["master_link_status"] == "up")
        config = directory / "sentinel.conf"  # Sentinel rewrites its configuration file
        config.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\n"
            f"sentinel monitor {PRIMARY_NAME} 127.0.0.1 {self.primary_port} 1\n"
            f"sentinel down-after-milliseconds {PRIMARY_NAME} 500\n"
            f"sentinel failover-timeout {PRIMARY_NAME} 2000\n"
        )
        self.sentinel = self._start([binary, str(config), "--sentinel"])
        self.processes = [self.primary, self.replica, self.sentinel]
        eventually(lambda: self._watched_replicas() == [self.replica_port])

    def _replication(self, port: int) -> dict[str, Any]:
        return dict(redis.Redis(port=port).info("replication"))

    def _watched_replicas(self) -> list[int]:
        watcher = redis.Redis(port=self.sentinel_port, decode_responses=True)
        return [int(replica["port"]) for replica in watcher.sentinel_slaves(PRIMARY_NAME)]

    @staticmethod
    def _start(command: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603

    def primary_address(self) -> tuple[str, int]:
        watcher = redis.Redis(port=self.sentinel_port, decode_responses=True)
        host, port = watcher.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", PRIMARY_NAME)
        return host, int(port)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


def eventually(check: Callable[[], Any], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except (redis.ConnectionError, OSError, AssertionError):
            pass
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.1)


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[ReplicatedRedis]:
    servers = ReplicatedRedis(tmp_path)
    yield servers
    servers.close()


def test_after_a_failover_the_api_serves_and_enqueues_on_the_promoted_replica(
    replicated: ReplicatedRedis,
) -> None:
    settings = make_settings(
        **{
            **LIMITED,
            "NOVAPULSE_RATE_LIMIT_USER": "1000/60",
            "NOVAPULSE_REDIS_URL": f"redis://{PRIMARY_NAME}/0",
            "NOVAPULSE_REDIS_SENTINELS": f"127.0.0.1:{replicated.sentinel_port}",
        }
    )
    with TestClient(create_app(settings)) as client:
        owner = sign_up(client, "Acme")
        before = client.get("/api/v1/users/me", headers=owner.headers)
        assert before.headers["ratelimit"].startswith('"user";r=')
        primary = redis.Redis(port=replicated.primary_port)
        assert primary.dbsize() > 0  # it wrote there
        # replication is asynchronous: what the replica had not received when the primary died
        # is lost (as with any Redis failover); wait until it has everything
        assert primary.execute_command("WAIT", 1, 5000) == 1

        replicated.primary.kill()
        replicated.primary.wait(timeout=10)
        eventually(lambda: replicated.primary_address()[1] == replicated.replica_port)
        eventually(lambda: client.get("/api/v1/health/ready").status_code == 200)

        after = client.get("/api/v1/users/me", headers=owner.headers)
        added = client.post(
            "/api/v1/users",
            json={"email": "dana@acme.example", "name": "Dana", "password": PASSWORD},
            headers=owner.headers,
        )
        assert after.status_code == 200
        assert after.headers["ratelimit"].startswith('"user";r=')  # counted, not failed open
        assert added.status_code == 201, added.text
        jobs = client.get("/api/v1/jobs?queue=email", headers=owner.headers).json()
        assert len(jobs["items"]) == 2  # the owner's welcome email and Dana's, on the new primary


async def test_closing_the_client_closes_its_connections_to_the_sentinels_too(
    replicated: ReplicatedRedis,
) -> None:
    watcher = redis.Redis(port=replicated.sentinel_port)
    before = len(watcher.client_list())
    sentinels = [("127.0.0.1", replicated.sentinel_port)]
    for _ in range(3):
        client = redis_client(f"redis://{PRIMARY_NAME}/0", sentinels=sentinels)
        await client.ping()
        await client.aclose()
    assert len(watcher.client_list()) <= before


async def test_after_a_hung_primary_is_failed_over_one_timeout_clears_every_stale_connection(
    replicated: ReplicatedRedis,
) -> None:
    sentinels = [("127.0.0.1", replicated.sentinel_port)]
    client = redis_client(f"redis://{PRIMARY_NAME}/0", sentinels=sentinels)
    try:
        await asyncio.gather(*(client.ping() for _ in range(5)))  # five pooled connections
        replicated.primary.send_signal(signal.SIGSTOP)  # a hung machine: no reset, no reply
        eventually(lambda: replicated.primary_address()[1] == replicated.replica_port)

        with pytest.raises(redis.TimeoutError):
            await client.ping()
        await asyncio.sleep(client.quiet_seconds)  # type: ignore[attr-defined]
        answers = await asyncio.gather(*(client.ping() for _ in range(5)), return_exceptions=True)
    finally:
        await client.aclose()
    assert answers == [True] * 5
