"""Request and trace ids, made on every function URL call.

They name a call in logs and headers and guard nothing, so they come from a pseudo-random
generator seeded once from the OS, without a system call per id.
"""

from __future__ import annotations

import os
import random
import time

_random = random.Random(os.urandom(32))


def request_id() -> str:
    """A version 4 UUID, as Lambda's request ids are."""
    digits = f"{_random.getrandbits(128):032x}"
    variant = "89ab"[int(digits[16], 16) & 3]
    return (f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-"
            f"{digits[20:]}")


def trace_root(now: float) -> str:
    """An X-Ray trace id: version, epoch seconds in hex, 24 hex digits."""
    return f"1-{int(now):08x}-{_random.getrandbits(96):024x}"


def response_trace_id() -> str:
    """The X-Amzn-Trace-Id a function URL answers with."""
    digits = f"{_random.getrandbits(192):048x}"
    root = f"1-{int(time.time()):08x}-{digits[:24]}"
    return f"Root={root};Parent={digits[24:40]};Sampled=0;Lineage=1:{digits[40:]}:0"
