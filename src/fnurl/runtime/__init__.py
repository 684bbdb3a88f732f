"""Execution environments: where a function's handler runs.

The gateway only sees `Runtime.invoke`: like Lambda's Invoke API, it hands over the event as
JSON bytes and gets back the JSON payload the handler returned, or the error Lambda would
report. How environments are made (worker
processes today) stays behind this interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    # Only for annotations: the worker process imports this package and must start fast.
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
class InvocationResult:
    request_id: str
    payload: bytes | None = None       # the handler's reply, serialised to JSON
    error: InvocationError | None = None
    duration_ms: float = 0.0


class Runtime(Protocol):
    async def start(self) -> None: ...

    async def invoke(
        self, function: LambdaFunction, event: bytes, request_id: str
    ) -> InvocationResult: ...

    async def close(self) -> None: ...
