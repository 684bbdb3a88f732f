"""Replies of `RESPONSE_STREAM` URLs, and of streaming handlers behind either mode (spec §6).

A Python handler streams by returning an iterator (fnurl's extension: Lambda's Python
runtime cannot stream). The URL relays its chunks as they come, with chunked
transfer-encoding; a dict yielded first is the prelude that sets status, headers and
cookies. The combinations AWS showed for Node handlers are kept: an ordinary handler behind
RESPONSE_STREAM sends its whole JSON payload as the body, and a streaming handler behind
BUFFERED loses its body when it sent a prelude.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from fnurl.gateway.response import JSON_TYPE, STREAM_TYPE, InvalidReply, map_prelude
from fnurl.runtime import InvocationError, StreamEvent, StreamPrelude

runtime_log = logging.getLogger("fnurl.runtime")

Headers = list[tuple[bytes, bytes]]


class StreamedResponse(Response):
    """A response whose body is sent as it arrives, without Content-Length (so chunked)."""

    def __init__(self, status: int, headers: Headers, body: AsyncIterator[bytes],
                 *, send_body: bool = True) -> None:
        # Response.__init__ renders a whole body up front; this one has none yet.
        self.status_code = status
        self.raw_headers = headers
        self.background = None
        self._body = body
        self._send_body = send_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        connected = True
        # Read to the end even once the client is gone: the invocation runs on, as on AWS.
        async for chunk in self._body:
            if not (connected and self._send_body and chunk):
                continue
            try:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except OSError:
                connected = False
        if connected:
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _single(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _relay(
    first: bytes, stream: AsyncGenerator[StreamEvent, None], request_id: str, function: str
) -> AsyncIterator[bytes]:
    """The body bytes of a stream; an error ends it quietly for the client, as on AWS."""
    try:
        if first:
            yield first
        async for event in stream:
            if isinstance(event, bytes):
                yield event
            elif isinstance(event, InvocationError):
                runtime_log.error("%s: %s: the stream ended with %s: %s", request_id, function,
                                  event.error_type, event.message)
    finally:
        await stream.aclose()


def has_body(method: str, status: int) -> bool:
    return method != "HEAD" and status not in (204, 304)


async def open_stream(
    stream: AsyncGenerator[StreamEvent, None], *, method: str, request_id: str, function: str
) -> tuple[Response | None, InvocationError | None]:
    """The response for a streaming handler behind RESPONSE_STREAM.

    Waits for the handler's first output: a prelude sets the head, bytes go out under
    200 and application/octet-stream. An error before any output is returned instead, for
    the caller to answer as an invocation error; (None, None) means the prelude was invalid.
    """
    first = await anext(stream, None)
    if isinstance(first, InvocationError):
        await stream.aclose()
        return None, first
    status, headers = 200, [(b"content-type", STREAM_TYPE)]
    data = b""
    if isinstance(first, StreamPrelude):
        try:
            status, headers = map_prelude(first.fields)
        except InvalidReply as exc:
            runtime_log.error("%s: %s streamed an invalid prelude: %s", request_id, function, exc)
            await stream.aclose()   # waits for the handler: its environment is busy till then
            return None, None
    elif isinstance(first, bytes):
        data = first
    body = _relay(data, stream, request_id, function)
    return StreamedResponse(status, headers, body, send_body=has_body(method, status)), None


def payload_stream(status: int, headers: Headers, payload: bytes, method: str) -> Response:
    """An ordinary handler behind RESPONSE_STREAM: its head, and its whole JSON as the body."""
    return StreamedResponse(status, headers, _single(payload),
                            send_body=has_body(method, status))


def error_stream(error: InvocationError, request_id: str, method: str) -> Response:
    """A failed invocation behind RESPONSE_STREAM: 200 with the error document as the body.

    AWS sent this for an ordinary Node handler that threw; fnurl sends the Python runtime's
    document (errorMessage, errorType, requestId, stackTrace) for every invocation error.
    """
    document = {
        "errorMessage": error.message,
        "errorType": error.error_type,
        "requestId": request_id,
        "stackTrace": list(error.stack_trace),
    }
    body = json.dumps(document, separators=(",", ":")).encode()
    return StreamedResponse(200, [(b"content-type", JSON_TYPE)], _single(body),
                            send_body=method != "HEAD")


async def collect_stream(
    stream: AsyncGenerator[StreamEvent, None], limit: int
) -> tuple[StreamPrelude | None, bytes, int, InvocationError | None]:
    """Read a whole stream (a streaming handler behind BUFFERED).

    Returns the prelude, the body up to `limit` bytes, the body's full size and the error
    that ended it, if any.
    """
    prelude: StreamPrelude | None = None
    chunks: list[bytes] = []
    size = 0
    error: InvocationError | None = None
    try:
        async for event in stream:
            if isinstance(event, StreamPrelude):
                prelude = event
            elif isinstance(event, bytes):
                size += len(event)
                if size <= limit:
                    chunks.append(event)
            else:
                error = event
    finally:
        await stream.aclose()
    return prelude, b"".join(chunks), size, error
