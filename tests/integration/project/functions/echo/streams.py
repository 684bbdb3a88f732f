"""Streaming handlers: generators of bytes and str, with and without a prelude."""

import json
import time
from pathlib import Path


def _wait_for(path, seconds=10):
    deadline = time.monotonic() + seconds
    while not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def handshake(query):
    # The second chunk waits for the test's flag file: a reader that sees "first" before
    # creating it proves the chunk came through while the handler was still running.
    yield {"statusCode": 201, "headers": {"Content-Type": "text/plain", "X-Stream": "yes"},
           "cookies": ["s=1; Path=/"]}
    yield "first\n"
    _wait_for(query["flag"])
    yield b"second\n"
    yield "third\n"
    if "done" in query:
        Path(query["done"]).touch()


def raw_bytes(query):
    yield b"\x00\x01"
    yield "text"


def prelude(query):
    yield {"statusCode": 203, "headers": {"X-Prelude": "yes"}, "cookies": ["p=1"]}
    yield "dropped behind BUFFERED"


def breaks(query):
    yield "partial\n"
    raise RuntimeError("broke after the first bytes")


def raise_first(query):
    raise ValueError("broke before any bytes")
    yield "never"


def stall(query):
    yield "tick\n"
    time.sleep(60)
    yield "never"


def bad_prelude(query):
    yield {"statusCode": 700}
    yield "never"


def bad_chunk(query):
    yield "fine\n"
    yield 42


def big(query):
    # 8 MB in 64 KB chunks: over the buffered limit, well within the streamed one.
    chunk = b"z" * 65536
    for _ in range(128):
        yield chunk


STREAMS = {
    "handshake": handshake, "bytes": raw_bytes, "prelude": prelude, "break": breaks,
    "raise-first": raise_first, "stall": stall, "bad-prelude": bad_prelude,
    "bad-chunk": bad_chunk, "big": big,
}


def handler(event, context):
    query = event.get("queryStringParameters") or {}
    kind = query.get("kind", "bytes")
    if kind == "ordinary":
        return {"statusCode": 202, "headers": {"X-Mode": "plain"}, "cookies": ["o=1"],
                "body": "accepted\n"}
    if kind == "string":
        return "hello"
    if kind == "raise":
        raise ValueError("an ordinary handler failed")
    if kind == "file":
        return open(__file__, "rb")   # a file is an iterator of lines: it streams
    if kind == "iter":
        return iter([json.dumps({"n": 1}), "\n"])
    return STREAMS[kind](query)
