"""The responses Lambda's URL front end generates itself, byte for byte."""

from __future__ import annotations

import json
import re

from starlette.responses import Response

FORBIDDEN_MESSAGE = (
    "Forbidden. For troubleshooting Function URL authorization issues, see: "
    "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
)
FORBIDDEN_BODY = ('{"Message":"' + FORBIDDEN_MESSAGE + '"}').encode()
UNKNOWN_URL_BODY = b'{"Message":null}'
INTERNAL_ERROR_BODY = b"Internal Server Error"
THROTTLED_BODY = (
    b'{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User",'
    b'"message":"Rate Exceeded."}'
)
TOO_LARGE_BODY = (
    b'{"Type":"User","message":"Request must be smaller than 6291456 bytes for the '
    b'InvokeFunction operation"}'
)


def json_response(
    status: int, body: bytes, *, error_type: str | None = None, request_id: str | None = None
) -> Response:
    headers = {}
    if error_type is not None:
        headers["x-amzn-ErrorType"] = error_type
    if request_id is not None:
        headers["x-amzn-RequestId"] = request_id
    return Response(body, status_code=status, headers=headers, media_type="application/json")


NOT_FOUND_MESSAGE = (
    "fnurl: no function URL or API at this address. Function URLs are "
    "http://<url-id>.lambda-url.<region>.localhost:<port>/ or /_fnurl/<url-id>/ "
    "(see GET /_fnurl/health)."
)


_LAMBDA_API_PATH = re.compile(r"^/20\d\d-\d\d-\d\d/")


def unknown_operation(method: str = "", path: str = "") -> Response:
    """A path that is neither a function URL nor an API fnurl serves."""
    message = NOT_FOUND_MESSAGE
    if _LAMBDA_API_PATH.match(path):
        # A real Lambda API call fnurl does not implement: say so, not "wrong address".
        message = (f"fnurl does not serve this Lambda API operation ({method} {path}); "
                   "docs/control-plane.md lists the operations it serves")
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return json_response(404, body, error_type="UnknownOperationException")


def forbidden(request_id: str) -> Response:
    """A caller the policies do not let in (NONE or AWS_IAM alike)."""
    return json_response(403, FORBIDDEN_BODY, error_type="AccessDeniedException",
                         request_id=request_id)


def unknown_url(request_id: str) -> Response:
    return json_response(403, UNKNOWN_URL_BODY, error_type="AccessDeniedException",
                         request_id=request_id)


def internal_error(request_id: str) -> Response:
    # AWS sends this text with a JSON content type and no x-amzn-ErrorType.
    return json_response(502, INTERNAL_ERROR_BODY, request_id=request_id)


def throttled(request_id: str) -> Response:
    response = json_response(429, THROTTLED_BODY, error_type="TooManyRequestsException",
                             request_id=request_id)
    response.headers["Retry-After"] = "1"
    return response


def too_large(request_id: str) -> Response:
    return json_response(413, TOO_LARGE_BODY, error_type="RequestTooLargeException",
                         request_id=request_id)
