"""Settings that could never work are refused when read, in one line, not at the first use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from novapulse_entrypoints.settings import Settings, SettingsError


def _key_file(tmp_path: Path, key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey) -> str:
    path = tmp_path / "key.pem"
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return str(path)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NOVAPULSE_ARGON2_MEMORY_KIB": "1"}, "at least 8 per lane"),
        ({"NOVAPULSE_ARGON2_PARALLELISM": "2", "NOVAPULSE_ARGON2_MEMORY_KIB": "15"}, "16 for"),
        ({"NOVAPULSE_ARGON2_PARALLELISM": str(2**24)}, "at most 16777215"),
        ({"NOVAPULSE_ARGON2_MEMORY_KIB": str(2**32)}, "below 4294967296"),
        ({"NOVAPULSE_ARGON2_TIME_COST": str(2**32)}, "TIME_COST must be below 4294967296"),
    ],
)
def test_argon2_costs_the_rfc_does_not_allow_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_the_smallest_argon2_costs_are_accepted() -> None:
    settings = Settings.from_env(
        {"NOVAPULSE_ARGON2_PARALLELISM": "2", "NOVAPULSE_ARGON2_MEMORY_KIB": "16"}
    )
    assert (settings.argon2_parallelism, settings.argon2_memory_kib) == (2, 16)


def test_rs256_with_an_ed25519_key_is_refused(tmp_path: Path) -> None:
    key = _key_file(tmp_path, ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(SettingsError, match="RS256 needs an RSA key"):
        Settings.from_env(
            {"NOVAPULSE_JWT_ALGORITHM": "RS256", "NOVAPULSE_JWT_PRIVATE_KEY_FILE": key}
        )


def test_eddsa_with_an_rsa_key_is_refused(tmp_path: Path) -> None:
    key = _key_file(tmp_path, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with pytest.raises(SettingsError, match="EdDSA needs an Ed25519 or Ed448 key"):
        Settings.from_env(
            {"NOVAPULSE_JWT_ALGORITHM": "EdDSA", "NOVAPULSE_JWT_PRIVATE_KEY_FILE": key}
        )


def test_a_key_of_the_algorithms_kind_is_accepted(tmp_path: Path) -> None:
    key = _key_file(tmp_path, ed25519.Ed25519PrivateKey.generate())
    settings = Settings.from_env(
        {"NOVAPULSE_JWT_ALGORITHM": "EdDSA", "NOVAPULSE_JWT_PRIVATE_KEY_FILE": key}
    )
    assert settings.jwt_algorithm == "EdDSA"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://db:27017", "mongodb:// or mongodb+srv://"),
        ("mongodb://", "at least one hostname"),
        ("mongodb://db:99999", "Port must be"),
        ("mongodb://db/?authSource=", "authSource"),
        ("mongodb+srv://cluster0.example.com:27017/", "takes no port"),
        ("mongodb+srv://a.example.com,b.example.com/", "exactly one host"),
        ("mongodb+srv://cluster0.example.com/?directConnection=true", "directConnection"),
        ("mongodb+srv://cluster0.example.com/?connectTimeoutMS=soon", "must be an integer"),
    ],
)
def test_a_mongodb_url_pymongo_would_refuse_is_refused(url: str, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env({"NOVAPULSE_MONGO_URL": url})


@pytest.mark.parametrize(
    "url",
    [
        "mongodb+srv://cluster0.no-such.invalid/",
        "mongodb+srv://user:p%40ss@cluster0.no-such.invalid/app?srvServiceName=mongodb2",
        "mongodb+srv://cluster0.no-such.invalid/?srvMaxHosts=3&retryWrites=true",
    ],
)
def test_an_srv_url_is_checked_without_a_dns_lookup(url: str) -> None:
    with pytest.raises(SettingsError, match="JWT_SECRET is required"):  # the URL itself passed
        Settings.from_env({"NOVAPULSE_MONGO_URL": url})


@pytest.mark.parametrize("name", ["bad/name", "a.b", "with space", "dollar$", "x" * 64])
def test_a_database_name_mongodb_refuses_is_refused(name: str) -> None:
    with pytest.raises(SettingsError, match="NOVAPULSE_MONGO_DATABASE"):
        Settings.from_env({"NOVAPULSE_MONGO_DATABASE": name})


def test_analytics_reads_name_a_read_preference() -> None:
    assert Settings.from_env({}).mongo_analytics_reads == "secondaryPreferred"
    assert Settings.from_env({"NOVAPULSE_MONGO_ANALYTICS_READS": "nearest"}).mongo_analytics_reads
    with pytest.raises(SettingsError, match="expected one of primary, primaryPreferred"):
        Settings.from_env({"NOVAPULSE_MONGO_ANALYTICS_READS": "replica"})


SHARED = {
    "NOVAPULSE_JWT_SECRET": "s" * 40,
    "NOVAPULSE_MFA_KEY": "a2V5LW9mLTMyLWJ5dGVzLWZvci10aGUtdGVzdHMhISE=",
}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NOVAPULSE_REDIS_SENTINELS": "10.0.0.1:26379"}, "needs NOVAPULSE_REDIS_URL naming"),
        (
            {"NOVAPULSE_REDIS_SENTINELS": "10.0.0.1", "NOVAPULSE_REDIS_URL": "redis://main"},
            "expected host:port of a Sentinel, got '10.0.0.1'",
        ),
        (
            {"NOVAPULSE_REDIS_SENTINELS": "ops:pw@s:26379", "NOVAPULSE_REDIS_URL": "redis://m"},
            "entry 1: Sentinels that need a password are not supported",
        ),
        ({"NOVAPULSE_REDIS_URL": "redis://:pw@"}, "the URL names no host"),
    ],
)
def test_sentinels_need_a_url_that_names_the_primary_they_watch(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as refused:
        Settings.from_env({**SHARED, **env})
    assert "pw" not in str(refused.value)


@pytest.mark.parametrize(
    "url", ["redis://main:6379", "rediss://:pw@main", "redis://:pw@m/db1", "redis://:pw@m?db=3"]
)
def test_under_sentinels_the_url_names_the_primary_without_port_tls_or_options(url: str) -> None:
    env = {**SHARED, "NOVAPULSE_REDIS_SENTINELS": "s:26379", "NOVAPULSE_REDIS_URL": url}
    with pytest.raises(SettingsError, match="without a port, TLS or options") as refused:
        Settings.from_env(env)
    assert "pw" not in str(refused.value)


def test_sentinels_are_read_as_host_and_port_pairs() -> None:
    settings = Settings.from_env(
        {
            **SHARED,
            "NOVAPULSE_REDIS_SENTINELS": "10.0.0.1:26379, [2001:db8::7]:26380",
            "NOVAPULSE_REDIS_URL": "redis://:secret@main/2",
        }
    )
    assert settings.redis_sentinels == (("10.0.0.1", 26379), ("2001:db8::7", 26380))
