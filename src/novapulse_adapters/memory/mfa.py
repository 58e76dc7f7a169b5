"""Dict-backed MFA records and spent TOTP steps: the reference `MfaStore` and `OtpReplayStore`."""

from __future__ import annotations

import threading
from datetime import datetime

import attrs

from novapulse_adapters.memory.expiring import ExpiringMap
from novapulse_core.domain.errors import Conflict, NotFound
from novapulse_core.domain.mfa import MfaRecord
from novapulse_core.ports.system import Clock


class InMemoryMfaStore:
    """`MfaStore` in a dict keyed by (company_id, user_id), locked for atomic code use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], MfaRecord] = {}

    async def get(self, company_id: str, user_id: str) -> MfaRecord | None:
        return self._records.get((company_id, user_id))

    async def add(self, record: MfaRecord) -> None:
        with self._lock:
            key = (record.company_id, record.user_id)
            if key in self._records:
                raise Conflict("this user already has an MFA record")
            self._records[key] = record

    async def update(self, record: MfaRecord) -> None:
        with self._lock:
            stored = self._stored(record.company_id, record.user_id)
            if stored.version != record.version - 1:
                raise Conflict("the MFA record was changed by someone else; read it again")
            self._records[(record.company_id, record.user_id)] = record

    async def delete(self, company_id: str, user_id: str) -> None:
        with self._lock:
            self._stored(company_id, user_id)
            del self._records[(company_id, user_id)]

    async def use_recovery_code(
        self, company_id: str, user_id: str, digest: str, at: datetime
    ) -> bool:
        with self._lock:
            record = self._records.get((company_id, user_id))
            if record is None or not record.enabled:
                return False
            codes = list(record.recovery_codes)
            for index, code in enumerate(codes):
                if code.digest == digest and code.used_at is None:
                    codes[index] = attrs.evolve(code, used_at=at)
                    used = tuple(codes)
                    self._records[(company_id, user_id)] = attrs.evolve(
                        record, recovery_codes=used, updated_at=at, version=record.version + 1
                    )
                    return True
            return False

    def _stored(self, company_id: str, user_id: str) -> MfaRecord:
        record = self._records.get((company_id, user_id))
        if record is None:
            raise NotFound("no MFA record for this user")
        return record


class InMemoryOtpReplayStore:
    """`OtpReplayStore` on an `ExpiringMap`: claims vanish at their expiry by `clock`."""

    def __init__(self, clock: Clock) -> None:
        self._lock = threading.Lock()
        self._claims: ExpiringMap[tuple[str, int], bool] = ExpiringMap(clock)

    async def claim(self, user_id: str, step: int, expires_at: datetime) -> bool:
        with self._lock:
            if self._claims.get((user_id, step)) is not None:
                return False
            self._claims.put((user_id, step), True, expires_at)
            return True
