"""Lambda API errors, with the status, `x-amzn-ErrorType` and body key case AWS uses."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.responses import Response

# Member case differs by exception (spec 8.4): reproduce it, clients and tests read it.
_CAPITAL_MESSAGE = {"ResourceNotFoundException", "ServiceException", "AccessDeniedException"}
_NO_TYPE = {"ValidationException", "AccessDeniedException", "MissingAuthenticationTokenException",
            "UnrecognizedClientException", "InvalidSignatureException",
            "IncompleteSignatureException", "UnknownOperationException"}


class LambdaError(Exception):
    """An error the Lambda API answers with; raise it anywhere in a handler."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        key = "Message" if self.code in _CAPITAL_MESSAGE else "message"
        if self.code in _NO_TYPE:
            return {key: self.message}
        return {"Type": "Service" if self.code == "ServiceException" else "User",
                key: self.message}

    def response(self, request_id: str) -> Response:
        return Response(
            json.dumps(self.body(), separators=(",", ":")),
            status_code=self.status,
            media_type="application/json",
            headers={"x-amzn-ErrorType": self.code, "x-amzn-RequestId": request_id},
        )


FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
FUNCTION_NAME_CONSTRAINT = (
    "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?"
    "([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)"
    "(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
)


def invalid_function_name(value: Any) -> LambdaError:
    return validation(value, "functionName", FUNCTION_NAME_CONSTRAINT)


def not_found(message: str = "The resource you requested does not exist.") -> LambdaError:
    return LambdaError(404, "ResourceNotFoundException", message)


def invalid_parameter(message: str) -> LambdaError:
    return LambdaError(400, "InvalidParameterValueException", message)


def conflict(message: str) -> LambdaError:
    return LambdaError(409, "ResourceConflictException", message)


def validation(value: Any, member: str, constraint: str) -> LambdaError:
    if value is None:
        # A required member left out: AWS names the constraint it breaks first.
        return LambdaError(400, "ValidationException", (
            f"1 validation error detected: Value null at '{member}' failed to satisfy "
            "constraint: Member must not be null"))
    if isinstance(value, list | tuple):
        # As AWS's Java service prints a list: [a, b], not Python's ['a', 'b'].
        value = "[" + ", ".join(str(item) for item in value) + "]"
    message = (
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {constraint}"
    )
    return LambdaError(400, "ValidationException", message)


def precondition_failed() -> LambdaError:
    return LambdaError(
        412,
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy "
        "API to retrieve the latest Revision Id",
    )


def throttled() -> LambdaError:
    return _Throttled()


class _Throttled(LambdaError):
    """Reserved concurrency reached: the body names the reason, and a retry time is given."""

    def __init__(self) -> None:
        super().__init__(429, "TooManyRequestsException", "Rate Exceeded.")

    def body(self) -> dict[str, Any]:
        return {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User",
                "message": self.message}

    def response(self, request_id: str) -> Response:
        response = super().response(request_id)
        response.headers["Retry-After"] = "1"
        return response
