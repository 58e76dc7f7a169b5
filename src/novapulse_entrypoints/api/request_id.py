"""`X-Request-ID` in and out: accepted when well-formed, generated otherwise, logged with each
line and handed to the core as the correlation id of whatever the request causes."""

from __future__ import annotations

import os
import random
import re

HEADER = b"x-request-id"
_WELL_FORMED = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")

_bits = random.Random()  # noqa: S311 - ids must be unique, not secret
"""Our own generator: the global one belongs to the application (and to test tools that replay
it), and a fork reseeds this one as it does the global one."""
os.register_at_fork(after_in_child=_bits.seed)


def request_id(incoming: bytes | None) -> str:
    """The request's id: the client's when well-formed, else 128 new random bits in hex.

    An id needs to be unique, not secret: a Mersenne Twister (reseeded in each forked process)
    serves, and unlike `os.urandom` it does not release the GIL, which costs the event loop a
    thread switch per request whenever another thread waits for it."""
    if incoming is not None and _WELL_FORMED.fullmatch(incoming):
        return incoming.decode("ascii")
    return f"{_bits.getrandbits(128):032x}"
