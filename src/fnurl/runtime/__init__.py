"""Execution environments: where a function's handler runs.

The gateway only sees `Runtime.invoke`: like Lambda's Invoke API, it hands over the event as
JSON bytes and gets back the JSON payload the handler returned, or the error Lambda would
report. A handler that returns an iterator streams instead (fnurl's stand-in for
InvokeWithResponseStream): the result then carries the stream, read as it is produced. How
environments are made (worker processes today) stays behind this interface.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    # Only for annotations: this package's types need nothing from the registry at run time.
    from fnurl.registry import LambdaFunction


@dataclass(frozen=True)
class InvocationError:
    """A failed invocation, in the shape Lambda reports it."""

    error_type: str
    message: str
    stack_trace: tuple[str, ...] = ()

    def as_payload(self) -> dict[str, Any]:
        return {
            "errorMessage": self.message,
            "errorType": self.error_type,
            "stackTrace": list(self.stack_trace),
        }


@dataclass(frozen=True)
class StreamPrelude:
    """What a streaming handler yielded first when it was a dict: statusCode, headers, cookies.

    It plays the part of the JSON prelude of Lambda's HTTP integration response stream.
    """

    fields: Any


# A stream yields a prelude (first, at most once), body chunks, and at most one error, last.
StreamEvent = StreamPrelude | bytes | InvocationError


@dataclass(frozen=True)
class InvocationResult:
    request_id: str
    payload: bytes | None = None       # the handler's reply, serialised to JSON
    error: InvocationError | None = None
    duration_ms: float = 0.0
    log: str = ""                      # START to REPORT, when the caller asked for the log
    # For a handler that returned an iterator: its output as it comes. Whoever receives it
    # must read it to the end or `aclose()` it, which waits for the handler to finish.
    stream: AsyncGenerator[StreamEvent, None] | None = None


@dataclass(frozen=True)
class Qualified:
    """How one call differs from a plain call of $LATEST: what its context object says."""

    invoked_arn: str | None = None     # the ARN as called, with its version or alias
    version: str | None = None         # the version run, for context and the START line
    client_context: dict[str, Any] | None = None   # Invoke's decoded ClientContext


class Runtime(Protocol):
    async def start(self) -> None: ...

    async def invoke(
        self, function: LambdaFunction, event: bytes, request_id: str, trace_id: str = "",
        *, with_log: bool = False, qualified: Qualified | None = None,
    ) -> InvocationResult: ...

    async def close(self) -> None: ...
