"""`X-Request-ID` in and out: accepted when well-formed, generated otherwise, logged with each
line and handed to the core as the correlation id of whatever the request causes."""

from __future__ import annotations

import os
import re

HEADER = b"x-request-id"
_WELL_FORMED = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


def request_id(incoming: bytes | None) -> str:
    """The request's id: the client's when well-formed, else a new random one."""
    if incoming is not None and _WELL_FORMED.fullmatch(incoming):
        return incoming.decode("ascii")
    return os.urandom(16).hex()
