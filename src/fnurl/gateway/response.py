"""Turning a handler's reply into the HTTP response a function URL sends (spec sections 3, 6)."""

from __future__ import annotations

import binascii
import json
import re
from typing import Any

JSON_TYPE = b"application/json"
# What a stream without a prelude (or a prelude without Content-Type) is sent as.
STREAM_TYPE = b"application/octet-stream"
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
# RFC 9110 token characters for a field name; values may not carry CR, LF or NUL.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_VALUE = re.compile(r"[\r\n\x00]")


class InvalidReply(ValueError):
    """The handler's reply cannot be turned into a response; Lambda answers 502."""


def compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def header_value(value: Any) -> str:
    """Stringify a header value the way Lambda's (Java) front end does."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={header_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(header_value(v) for v in value) + "]"
    return json.dumps(value)


def lenient_b64decode(text: str) -> bytes:
    # Lambda skips characters outside the alphabet instead of failing.
    data = _NOT_BASE64.sub(b"", text.encode("utf-8", "replace"))
    data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data
    data += b"=" * (-len(data) % 4)
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        return b""


def status_code(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidReply(f"statusCode must be a number, got {value!r}")
    if isinstance(value, int):
        code = value
    elif isinstance(value, float) and value.is_integer():
        code = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        code = int(value.strip())
    else:
        raise InvalidReply(f"statusCode must be an integer, got {value!r}")
    # 1xx codes are interim responses: a handler cannot end an exchange with one.
    if not 200 <= code <= 599:
        raise InvalidReply(f"statusCode {code} is not a valid final HTTP status")
    return code


def map_reply(payload: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers (in order, repeats kept) and body for a handler's JSON reply."""
    try:
        reply = json.loads(payload)
    except ValueError as exc:
        raise InvalidReply(f"reply is not JSON: {exc}") from exc

    if not isinstance(reply, dict) or "statusCode" not in reply:
        if isinstance(reply, str):
            return 200, [(b"content-type", JSON_TYPE)], reply.encode()
        return 200, [(b"content-type", JSON_TYPE)], compact_json(reply)

    status = status_code(reply["statusCode"])
    headers = proxy_headers(reply, JSON_TYPE)
    body = reply.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str):
        data = lenient_b64decode(body) if reply.get("isBase64Encoded") is True else body.encode()
    else:
        data = compact_json(body)
    return status, headers, data


def map_prelude(prelude: Any) -> tuple[int, list[tuple[bytes, bytes]]]:
    """Status and headers from a streaming handler's prelude (spec section 6).

    The prelude carries `statusCode`, `headers` and `cookies` as a proxy reply does; the
    body is what the handler streams after it.
    """
    if not isinstance(prelude, dict):
        raise InvalidReply(f"the prelude must be an object, got {type(prelude).__name__}")
    return status_code(prelude.get("statusCode", 200)), proxy_headers(prelude, STREAM_TYPE)


def proxy_headers(reply: dict[str, Any], default_type: bytes) -> list[tuple[bytes, bytes]]:
    """The `headers` then the `cookies` of a proxy reply, as response header lines."""
    headers: list[tuple[bytes, bytes]] = []
    raw_headers = reply.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise InvalidReply(f"headers must be an object, got {type(raw_headers).__name__}")
    has_content_type = False
    for name, value in raw_headers.items():
        lowered = str(name).lower()
        if lowered == "content-type":
            has_content_type = True
            # AWS keeps Content-Type as the handler spelled it and lowercases the rest.
            lowered = str(name)
        if lowered.lower() in _FRONT_END_HEADERS:
            continue
        text = header_value(value)
        if not _HEADER_NAME.match(lowered):
            raise InvalidReply(f"header name {name!r} is not a valid HTTP field name")
        if _BAD_VALUE.search(text):
            raise InvalidReply(f"header {name!r} has a value with CR, LF or NUL")
        headers.append((lowered.encode("latin-1"), _field_value(text)))
    if not has_content_type:
        headers.append((b"content-type", default_type))

    cookies = reply.get("cookies") or []
    if not isinstance(cookies, list):
        raise InvalidReply(f"cookies must be a list, got {type(cookies).__name__}")
    for cookie in cookies:
        text = header_value(cookie)
        if _BAD_VALUE.search(text):
            raise InvalidReply(f"cookie {text!r} has CR, LF or NUL")
        headers.append((b"set-cookie", _field_value(text)))
    return headers


# Headers the front end writes itself on every reply: a handler's copy would be a second,
# conflicting line (which one AWS keeps is unconfirmed; see docs/differences.md).
_FRONT_END_HEADERS = frozenset((
    "content-length", "transfer-encoding", "connection", "date", "x-amzn-requestid",
    "x-amzn-trace-id",
))


def _field_value(text: str) -> bytes:
    # HTTP/1.1 field values are bytes; characters beyond Latin-1 go out as their UTF-8
    # bytes rather than as '?', so a client that decodes UTF-8 gets the handler's text.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")
