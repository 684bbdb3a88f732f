"""Request and trace ids, made on every function URL call.

They name a call in logs and headers and guard nothing, so they come from a pseudo-random
generator seeded once from the OS, without a system call per id.
"""

from __future__ import annotations

import os
import random
import re

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


_CLIENT_ROOT = re.compile(r"(?:^|;)\s*Root=(1-[0-9a-f]{8}-[0-9a-f]{24})\s*(?:;|$)")


def client_trace_root(header: str | None) -> str | None:
    """The Root of a caller's X-Amzn-Trace-Id: X-Ray continues a trace the caller started."""
    if not header or "Root=" not in header:
        return None
    match = _CLIENT_ROOT.search(header)
    return match.group(1) if match else None


def invocation_trace(root: str) -> str:
    """The trace header of one invocation: `_X_AMZN_TRACE_ID` and the URL's reply header."""
    digits = f"{_random.getrandbits(96):024x}"
    return f"Root={root};Parent={digits[:16]};Sampled=0;Lineage=1:{digits[16:]}:0"
