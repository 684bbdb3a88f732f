"""CORS as a function URL applies it from the URL's `Cors` config (spec section 5).

The URL service answers preflights itself, before authorization and without invoking the
function, and appends its headers to ordinary responses beside the handler's own: AWS
duplicates (two Access-Control-Allow-Origin lines when the handler sets one too) rather
than replaces, and fnurl does the same, so a browser fails here as it would on AWS.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import Response

from fnurl.config import Cors

Headers = Sequence[tuple[bytes, bytes]]


def _header(headers: Headers, name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def is_preflight(cors: Cors | None, method: str, headers: Headers) -> bool:
    """Only an OPTIONS with both Origin and Access-Control-Request-Method, on a URL with CORS.

    Any other OPTIONS request goes to the function like every request.
    """
    return (
        cors is not None
        and method == "OPTIONS"
        and _header(headers, b"origin") is not None
        and _header(headers, b"access-control-request-method") is not None
    )


def origin_allowed(cors: Cors, origin: str) -> bool:
    # Exact matching (AWS's rule for case and for patterns is unconfirmed); "*" allows all.
    return "*" in cors.allow_origins or origin in cors.allow_origins


def requested_headers(value: str | None) -> list[str]:
    if not value:
        return []
    return [name.strip().lower() for name in value.split(",") if name.strip()]


def preflight(cors: Cors, headers: Headers, request_id: str) -> Response:
    """The answer to a preflight: 200 and an empty body, with CORS headers only if allowed."""
    origin = _header(headers, b"origin") or ""
    method = (_header(headers, b"access-control-request-method") or "").strip()
    asked = requested_headers(_header(headers, b"access-control-request-headers"))
    allowed_methods = {m.upper() for m in cors.allow_methods}
    allowed_headers = {h.lower() for h in cors.allow_headers}

    response = Response(b"", status_code=200)
    lines: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
    allowed = (
        origin_allowed(cors, origin)
        and ("*" in allowed_methods or method.upper() in allowed_methods)
        and ("*" in allowed_headers or all(h in allowed_headers for h in asked))
    )
    if allowed:
        # With "*" configured, name what was asked for: a literal "*" means nothing to a
        # browser sending credentials (AWS's answer here is unconfirmed).
        allow_headers = ",".join(asked) if "*" in allowed_headers else ",".join(
            cors.allow_headers)
        allow_methods = method if "*" in allowed_methods else ",".join(cors.allow_methods)
        lines.append((b"access-control-allow-origin", origin.encode("latin-1")))
        if allow_headers:
            lines.append((b"access-control-allow-headers", allow_headers.encode("latin-1")))
        lines.append((b"vary", b"Origin"))
        lines.append((b"access-control-allow-methods", allow_methods.encode("latin-1")))
        lines.append((b"access-control-max-age", str(cors.max_age).encode()))
        if cors.allow_credentials:
            lines.append((b"access-control-allow-credentials", b"true"))
    lines.append((b"content-length", b"0"))
    lines.append((b"x-amzn-requestid", request_id.encode()))
    response.raw_headers = lines
    return response


def decorate(cors: Cors | None, request_headers: Headers,
             response_headers: list[tuple[bytes, bytes]]) -> None:
    """Append the CORS headers of an ordinary response, keeping the handler's own."""
    origin = _header(request_headers, b"origin")
    if cors is None or origin is None or not origin_allowed(cors, origin):
        return
    response_headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
    response_headers.append((b"vary", b"Origin"))
    expose = ",".join(cors.expose_headers)
    if expose:
        # Expose-Headers is the one AWS merges into the handler's line instead of repeating.
        for index, (name, value) in enumerate(response_headers):
            if name.lower() == b"access-control-expose-headers":
                merged = value + b"," + expose.encode("latin-1") if value else expose.encode()
                response_headers[index] = (name, merged)
                break
        else:
            response_headers.append((b"access-control-expose-headers", expose.encode("latin-1")))
    if cors.allow_credentials:
        response_headers.append((b"access-control-allow-credentials", b"true"))
