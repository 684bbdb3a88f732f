"""Payload format 2.0: the event a function URL hands to the handler (spec section 2)."""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from fnurl.gateway import ids

# Media types Lambda passes as text; everything else arrives base64-encoded.
TEXT_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})


@dataclass(frozen=True)
class Caller:
    """What `requestContext.authorizer.iam` says about a SigV4-authenticated caller."""

    access_key: str
    account_id: str
    caller_id: str
    user_arn: str
    user_id: str
    principal_org_id: str | None


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type.startswith("text/") or media_type in TEXT_TYPES:
        return True
    return media_type.endswith("+json") or media_type.endswith("+xml")


def query_parameters(raw_query: str) -> dict[str, str] | None:
    """Decoded parameters, a repeated key joined with commas; None without a query."""
    if not raw_query:
        return None
    parameters: dict[str, str] = {}
    for pair in raw_query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name, value = unquote_plus(name), unquote_plus(value)
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters or None


def build_event(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[bytes, bytes]],
    body: bytes,
    source_ip: str,
    url_id: str,
    region: str,
    request_id: str,
    caller: Caller | None,
    now: float | None = None,
    trace_root: str | None = None,
) -> dict[str, Any]:
    now = time.time() if now is None else now
    event_headers: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        try:
            # Clients that send non-ASCII values send UTF-8; anything else is kept byte-wise.
            value = raw_value.decode()
        except UnicodeDecodeError:
            value = raw_value.decode("latin-1")
        if name == "connection" or (caller is not None and name == "authorization"):
            continue
        if name == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        if name == "x-forwarded-for":
            value = f"{value}, {source_ip}"
        event_headers[name] = f"{event_headers[name]},{value}" if name in event_headers else value

    event_headers.setdefault("x-forwarded-for", source_ip)
    event_headers["x-forwarded-proto"] = "https"
    event_headers["x-forwarded-port"] = "443"
    event_headers["x-amzn-tls-version"] = "TLSv1.3"
    event_headers["x-amzn-tls-cipher-suite"] = "TLS_AES_128_GCM_SHA256"
    # Self names the front end's own segment; Root is the trace the invocation belongs to.
    root = trace_root or ids.trace_root(now)
    event_headers["x-amzn-trace-id"] = f"Self={ids.trace_root(now)};Root={root}"
    if "content-length" not in event_headers and method not in ("HEAD", "OPTIONS"):
        event_headers["content-length"] = str(len(body))

    domain = f"{url_id}.lambda-url.{region}.on.aws"
    request_context: dict[str, Any] = {
        "accountId": caller.account_id if caller is not None else "anonymous",
        "apiId": url_id,
        "domainName": domain,
        "domainPrefix": url_id,
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": event_headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if caller is not None:
        request_context["authorizer"] = {
            "iam": {
                "accessKey": caller.access_key,
                "accountId": caller.account_id,
                "callerId": caller.caller_id,
                "cognitoIdentity": None,
                "principalOrgId": caller.principal_org_id,
                "userArn": caller.user_arn,
                "userId": caller.user_id,
            }
        }

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = event_headers
    parameters = query_parameters(raw_query)
    if parameters is not None:
        event["queryStringParameters"] = parameters
    event["requestContext"] = request_context

    if body:
        text = _as_text(body, event_headers.get("content-type"))
        if text is not None:
            event["body"] = text
            event["isBase64Encoded"] = False
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


def _as_text(body: bytes, content_type: str | None) -> str | None:
    if not is_text(content_type):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        # Bytes that are not UTF-8 cannot travel in a JSON string; send them base64.
        return None


__all__ = ["Caller", "build_event", "is_text", "query_parameters"]
