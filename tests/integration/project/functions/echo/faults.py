"""A handler that fails on request in every way an environment can, or counts its calls."""

import ctypes
import os
import sys
import time
from pathlib import Path

calls = 0   # module state lives as long as the environment: warm calls see it grow


def handler(event, context):
    global calls
    calls += 1
    query = event.get("queryStringParameters") or {}
    kind = query.get("kind", "count")
    if kind == "sys-exit":
        sys.exit(4)
    if kind == "os-exit":
        os._exit(5)
    if kind == "segfault":
        ctypes.string_at(0)
    if kind == "memory-error":
        bytearray(1 << 60)          # more than any machine has: malloc refuses, MemoryError
    if kind == "oom":
        hog = []
        for _ in range(1024):       # up to 1 GB in touched pages, far over `memory`
            hog.append(b"x" * (1 << 20))
        return {"survived": len(hog)}
    if kind == "wait":
        # Holds its environment until the test creates the flag file (or 10 s pass).
        Path(query["started"]).touch()
        flag = Path(query["flag"])
        deadline = time.monotonic() + 10
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    if kind == "print":
        print("first line")
        for n in range(2000):       # enough output that the log relay is still busy at return
            print(f"line {n} " + "." * 100)
        print("last line, no newline", end="")
    return {"pid": os.getpid(), "calls": calls}
