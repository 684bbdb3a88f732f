"""Lambda's Invoke API: the direct call a function URL is not.

It runs the same handler in the same execution environments as the URLs, but is authorized
as `lambda:InvokeFunction` with no `lambda:InvokedViaFunctionUrl` key, so a statement that
only admits calls through a URL does not admit it (spec section 7.1).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from fnurl.control import errors
from fnurl.control.auth import read_body
from fnurl.control.errors import LambdaError
from fnurl.gateway import ids
from fnurl.gateway.app import MAX_RESPONSE_BYTES
from fnurl.runtime import InvocationError, InvocationResult, Qualified, Runtime
from fnurl.runtime.process import Throttled

if TYPE_CHECKING:
    from fnurl.registry import LambdaFunction

logger = logging.getLogger("fnurl.runtime")

MAX_ASYNC_PAYLOAD = 1024 * 1024      # Lambda's limit for the Event invocation type
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
LOG_TAIL_BYTES = 4096
MAX_EVENT_AGE = 6 * 3600.0          # Lambda's default maximum age of an event


class Invoker:
    """Runs Invoke requests once the API has resolved and authorized the function."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._background: set[asyncio.Task[Any]] = set()

    async def invoke(
        self, request: Request, function: LambdaFunction, version: str, invoked_arn: str | None
    ) -> Response:
        invocation_type = request.headers.get("x-amz-invocation-type", "RequestResponse")
        if invocation_type not in INVOCATION_TYPES:
            raise errors.validation(
                invocation_type, "invocationType",
                "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
        log_type = request.headers.get("x-amz-log-type", "None")
        if log_type not in ("None", "Tail"):
            raise errors.validation(log_type, "logType",
                                    "Member must satisfy enum value set: [None, Tail]")
        client_context = _client_context(request.headers.get("x-amz-client-context"))
        if invocation_type == "DryRun":
            return Response(status_code=204)

        # read_body holds every API body to the synchronous 6 MB; Event's limit is lower.
        payload = await read_body(request) or b"{}"
        if invocation_type == "Event" and len(payload) > MAX_ASYNC_PAYLOAD:
            raise LambdaError(413, "RequestEntityTooLargeException",
                              f"Request must be smaller than {MAX_ASYNC_PAYLOAD} bytes for the "
                              "InvokeFunction operation")
        try:
            json.loads(payload, parse_constant=_not_json)
        except ValueError as exc:
            raise LambdaError(400, "InvalidRequestContentException",
                              f"Could not parse request body into json: {exc}") from exc

        request_id: str = request.state.request_id
        # A Lambda calling another through the SDK passes its trace on; X-Ray continues it.
        root = ids.client_trace_root(request.headers.get("x-amzn-trace-id"))
        trace = ids.invocation_trace(root or ids.trace_root(time.time()))
        qualified = Qualified(invoked_arn=invoked_arn,
                              version=None if version == "$LATEST" else version,
                              client_context=client_context)
        if invocation_type == "Event":
            # Accepted now, run later: Lambda's own queue is left out, the call just runs.
            task = asyncio.create_task(
                self._run_event(function, payload, request_id, trace, qualified))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return Response(status_code=202, headers={"x-amzn-RequestId": request_id})

        try:
            result = await self.runtime.invoke(function, payload, request_id, trace,
                                               with_log=log_type == "Tail", qualified=qualified)
        except Throttled as exc:
            raise errors.throttled() from exc
        body, error = await _reply(result)
        headers = {"x-amzn-RequestId": request_id, "X-Amz-Executed-Version": version,
                   "X-Amzn-Trace-Id": trace}
        if error is not None:
            headers["X-Amz-Function-Error"] = "Unhandled"
            document = error.as_payload()
            body = json.dumps({"errorMessage": document["errorMessage"],
                               "errorType": document["errorType"], "requestId": request_id,
                               "stackTrace": document["stackTrace"]}, ensure_ascii=False).encode()
        if log_type == "Tail":
            # As Lambda: the last 4 KB of the invocation's log, START to REPORT.
            tail = result.log.encode()[-LOG_TAIL_BYTES:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        return Response(body, headers=headers, media_type="application/json")

    async def _run_event(
        self, function: LambdaFunction, payload: bytes, request_id: str, trace: str,
        qualified: Qualified,
    ) -> None:
        # Lambda queues an event and retries a throttled one for up to 6 hours: wait for a
        # free environment, backing off, rather than drop what was accepted with a 202.
        give_up = time.monotonic() + MAX_EVENT_AGE
        delay = 0.05
        while True:
            try:
                result = await self.runtime.invoke(function, payload, request_id, trace,
                                                   qualified=qualified)
                break
            except Throttled:
                if time.monotonic() + delay > give_up:
                    logger.warning("%s: %s throttled for 6 hours; the event is dropped",
                                   request_id, function.name)
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
        _, error = await _reply(result)
        if error is not None:
            logger.error("%s: %s failed: %s: %s", request_id, function.name, error.error_type,
                         error.message)


def _not_json(constant: str) -> Any:
    # Python's parser takes NaN and Infinity; JSON, and Lambda, do not.
    raise ValueError(f"{constant} is not a JSON value")


def _client_context(header: str | None) -> dict[str, Any] | None:
    if header is None:
        return None
    try:
        document = json.loads(base64.b64decode(header, validate=True))
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise LambdaError(400, "InvalidRequestContentException",
                          "Client context must be a valid Base64-encoded JSON object.")
    return document


async def _reply(result: InvocationResult) -> tuple[bytes, InvocationError | None]:
    """The payload Invoke answers with, or the error that replaces it."""
    if result.stream is not None:
        # fnurl's stand-in for response streaming serves URLs only: to Invoke, as to Lambda's
        # Python runtime, a returned generator is a value JSON cannot hold.
        await result.stream.aclose()
        return b"", InvocationError(
            "Runtime.MarshalError",
            "Unable to marshal response: Object of type generator is not JSON serializable")
    if result.error is not None:
        return b"", result.error
    payload = result.payload or b"null"
    if len(payload) > MAX_RESPONSE_BYTES:
        return b"", _too_large(len(payload))
    return payload, None


def _too_large(size: int) -> InvocationError:
    return InvocationError(
        "Function.ResponseSizeTooLarge",
        f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_BYTES} bytes).",
    )
