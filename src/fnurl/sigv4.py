"""SigV4 request authentication: canonical request, scope, clock skew, session tokens.

The verifier rebuilds the canonical request from the request exactly as it arrived (raw path,
raw query, raw header bytes, body bytes) and never trusts the client's own canonical form.
It knows nothing about policies or HTTP frameworks: the gateway hands it an `HttpRequest` and
gets a `VerifiedSignature` back, or a `SigV4Error` whose `error_type`, `message` and `body()`
are what AWS sends, and whose `reason` is our own diagnosis for the log.

Checks run in the order AWS JSON services were seen to apply them: parameters present, date
format, clock skew or expiry, `host` signed, algorithm, credential scope, access key, then
the signature, then the session token.

After a signature mismatch the verifier tries the canonical forms clients are known to sign
instead (query unsorted, not re-encoded or encoded twice; path not normalised or not encoded
again; payload hash of an empty body or UNSIGNED-PAYLOAD; header values not trimmed; one
value of a repeated header; the host without its port) and names the one that reproduces
the client's signature in `reason` (docs/signing.md lists them). AWS's answer is unchanged.

Choices where AWS behaviour is unconfirmed for function URLs:

- A presigned URL past `X-Amz-Date + X-Amz-Expires` raises `RequestExpired`
  (`AccessDeniedException`, "Request has expired", S3's wording). Without `X-Amz-Expires`
  a presigned URL gets the header form's window: `max_skew` either side of `now`.
- `X-Amz-Expires` over 604800, negative or not a number, a malformed date, an unsupported
  algorithm and a credential without five parts raise `IncompleteSignature`.
- `UNSIGNED-PAYLOAD` (and the streaming payload forms) and a presigned request with a body
  are refused as a signature mismatch, with the cause in `reason`.
- A raw `+` in the query is a space, as the event's `queryStringParameters` reads it (and
  as URLSearchParams-based signers such as aws4fetch sign it), so it signs as `%20`; the
  SDKs send `%2B` for a plus and `%20` for a space. An empty component (`a=1&&b=2`) is
  skipped.
- Header values are trimmed of spaces and tabs and inner runs of either become one space,
  as the SDKs do. Header bytes are read as Latin-1, the way HTTP clients write them.
- A session token sent with a long-term access key is refused like a wrong token; the token
  itself need not be among the signed headers.
- When an Authorization header is present, the request is verified in header form even if
  the query also carries `X-Amz-*` parameters (they are then ordinary signed parameters).
- SignedHeaders is used in the order the client gave (every SDK sorts it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from itertools import product
from typing import Any, ClassVar, Final, Literal
from urllib.parse import quote_from_bytes, unquote_to_bytes

__all__ = [
    "ALGORITHM",
    "Credential",
    "HttpRequest",
    "IncompleteSignature",
    "InvalidSignature",
    "MissingAuthentication",
    "RequestExpired",
    "SigV4Error",
    "UnrecognizedClient",
    "VerifiedSignature",
    "canonical_path",
    "canonical_query",
    "canonical_request",
    "compute_signature",
    "is_signed",
    "signing_key",
    "string_to_sign",
    "verify",
]

ALGORITHM: Final = "AWS4-HMAC-SHA256"
TERMINATOR: Final = "aws4_request"
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
MAX_PRESIGN_EXPIRES: Final = 604800

_AMZ_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")
_HEADER_WS = re.compile(rb"[ \t]+")
_AUTH_SPLIT = re.compile(r"[\s,]+")
_BASIC: Final = "%Y%m%dT%H%M%SZ"

_MISMATCH: Final = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
_HOST_NOT_SIGNED: Final = (
    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
)
_HEADER_PARAMS: Final = ("Credential", "Signature", "SignedHeaders")
_QUERY_PARAMS: Final = (
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders",
    "X-Amz-Date",
)
# Any of these in the query means the client meant to presign; X-Amz-Date alone does not.
_QUERY_MARKERS: Final = frozenset(
    {b"X-Amz-Algorithm", b"X-Amz-Credential", b"X-Amz-Signature", b"X-Amz-SignedHeaders"}
)
_SIGNATURE_PARAM: Final = b"X-Amz-Signature"
_TOKEN_PARAM: Final = b"X-Amz-Security-Token"


# ---------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A request as received: ASGI raw path and query, lowercased header names, raw values."""

    method: str
    raw_path: bytes
    query_string: bytes
    headers: Sequence[tuple[bytes, bytes]]
    body: bytes


@dataclass(frozen=True, slots=True)
class Credential:
    """An access key; with `session_token` set the request must carry exactly that token."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """What a valid signature proves: who signed, for which scope, when, and how."""

    credential: Credential
    access_key_id: str
    region: str
    service: str
    signed_at: datetime
    form: Literal["header", "query"]


# ---------------------------------------------------------------- errors


class SigV4Error(Exception):
    """A request AWS would refuse with a 403; `reason` is ours, the rest is AWS's."""

    status: ClassVar[int] = 403
    error_type: ClassVar[str] = "AccessDeniedException"
    default_message: ClassVar[str] = ""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = self.default_message if message is None else message

    def __str__(self) -> str:
        return f"{self.error_type}: {self.reason}"

    def body(self) -> dict[str, Any]:
        return {"message": self.message}


class MissingAuthentication(SigV4Error):
    """The request carries no SigV4 at all; the gateway answers with its own 403 body."""

    default_message = "Missing Authentication Token"


class IncompleteSignature(SigV4Error):
    """The Authorization header or the presigned query is malformed or incomplete."""

    error_type = "IncompleteSignatureException"


class UnrecognizedClient(SigV4Error):
    """Unknown access key, or a missing or wrong session token."""

    error_type = "UnrecognizedClientException"
    default_message = "The security token included in the request is invalid."


class InvalidSignature(SigV4Error):
    """Signature mismatch, wrong scope, unsigned host, or a date outside the window."""

    error_type = "InvalidSignatureException"
    default_message = _MISMATCH


class RequestExpired(SigV4Error):
    """A presigned URL used after `X-Amz-Date + X-Amz-Expires` (S3's wording)."""

    default_message = "Request has expired"


# ---------------------------------------------------------------- canonical form


def canonical_path(raw_path: bytes) -> str:
    """Normalise the raw path as the SDKs do, then percent-encode it a second time."""
    if not raw_path:
        return "/"

    # Dot segments and empty segments always show up as "/." or "//" in an absolute path,
    # so most paths skip the segment walk.
    if raw_path[:1] == b"/" and b"//" not in raw_path and b"/." not in raw_path:
        return quote_from_bytes(raw_path, safe="/")

    segments: list[bytes] = []
    for segment in raw_path.split(b"/"):
        if not segment or segment == b".":
            continue
        if segment == b"..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)

    lead = b"/" if raw_path[:1] == b"/" else b""
    trail = b"/" if raw_path[-1:] == b"/" and segments else b""
    normalised = lead + b"/".join(segments) + trail
    return quote_from_bytes(normalised, safe="/") if normalised else "/"


@dataclass(frozen=True, slots=True)
class _Param:
    """One query component: encoded name and value for signing, decoded ones for reading."""

    name: str
    value: str
    raw_name: bytes
    raw_value: bytes
    wire: bytes


def _parse_query(query_string: bytes) -> list[_Param]:
    params: list[_Param] = []
    if not query_string:
        return params

    for piece in query_string.split(b"&"):
        if not piece:
            continue
        raw_name, _, raw_value = piece.partition(b"=")
        # One reading of the query for the signature and the handler: `+` is a space.
        name = unquote_to_bytes(raw_name.replace(b"+", b" "))
        value = unquote_to_bytes(raw_value.replace(b"+", b" "))
        params.append(
            _Param(quote_from_bytes(name, safe=""), quote_from_bytes(value, safe=""),
                   name, value, piece)
        )
    return params


def _join_query(params: Iterable[_Param], presigned: bool) -> str:
    pairs = sorted(
        (p.name, p.value) for p in params if not (presigned and p.raw_name == _SIGNATURE_PARAM)
    )
    return "&".join(f"{name}={value}" for name, value in pairs)


def canonical_query(query_string: bytes, *, presigned: bool = False) -> str:
    """Decode each name and value, encode them again, sort; drop the presigned signature."""
    return _join_query(_parse_query(query_string), presigned)


def _header_index(headers: Sequence[tuple[bytes, bytes]]) -> dict[bytes, list[bytes]]:
    # ASGI already lowercases names, so no per-request lowercasing here.
    index: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        found = index.get(name)
        if found is None:
            index[name] = [value]
        else:
            found.append(value)
    return index


def _trim(value: bytes) -> bytes:
    value = value.strip(b" \t")
    if b"  " in value or b"\t" in value:
        value = _HEADER_WS.sub(b" ", value)
    return value


def _trimmed(values: list[bytes]) -> bytes:
    return _trim(values[0]) if len(values) == 1 else b",".join(map(_trim, values))


def _canonical_headers(index: dict[bytes, list[bytes]], signed: Sequence[str],
                       value_of: Callable[[list[bytes]], bytes] = _trimmed) -> str:
    lines = []
    for name in signed:
        joined = value_of(index[name.encode("latin-1")])
        lines.append(f"{name}:{joined.decode('latin-1')}\n")
    return "".join(lines)


def _tail(index: dict[bytes, list[bytes]], signed: Sequence[str], payload_hash: str) -> str:
    # Everything after the query line: canonical headers, signed header list, payload hash.
    return f"{_canonical_headers(index, signed)}\n{';'.join(signed)}\n{payload_hash}"


def canonical_request(request: HttpRequest, signed_headers: Sequence[str],
                      payload_hash: str | None = None, *, presigned: bool = False) -> str:
    """The canonical request fnurl signs for `request`.

    `signed_headers` are lowercase names in SignedHeaders order; each must be present in the
    request (ValueError otherwise). `payload_hash` defaults to the SHA-256 of the body.
    """
    index = _header_index(request.headers)
    absent = [name for name in signed_headers if name.encode("latin-1") not in index]
    if absent:
        raise ValueError(f"signed headers absent from the request: {', '.join(absent)}")

    if payload_hash is None:
        payload_hash = _body_hash(request.body)
    path = canonical_path(request.raw_path)
    query = canonical_query(request.query_string, presigned=presigned)
    return f"{request.method}\n{path}\n{query}\n{_tail(index, signed_headers, payload_hash)}"


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    """`scope` is `<yyyymmdd>/<region>/<service>/aws4_request`, `amz_date` the basic format."""
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


@lru_cache(maxsize=256)
def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """The derived key; cached, since one key signs a whole day of one caller's requests."""
    key = hmac.new(f"AWS4{secret_access_key}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, TERMINATOR):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def compute_signature(secret_access_key: str, date: str, region: str, service: str,
                      string_to_sign: str) -> str:
    key = signing_key(secret_access_key, date, region, service)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256


# ---------------------------------------------------------------- parsing the signature


@dataclass(slots=True)
class _Auth:
    form: Literal["header", "query"]
    algorithm: str
    credential: str
    signed_headers: list[str]
    signature: str
    amz_date: str
    signed_at: datetime
    expires: int | None
    token: bytes | None


def _first(index: dict[bytes, list[bytes]], name: bytes) -> bytes | None:
    values = index.get(name)
    return values[0] if values else None


def _query_value(params: list[_Param], name: bytes) -> bytes | None:
    for param in params:
        if param.raw_name == name:
            return param.raw_value
    return None


def _has_query_auth(params: list[_Param]) -> bool:
    return any(p.raw_name in _QUERY_MARKERS for p in params)


def _parse_amz_date(text: str) -> datetime:
    match = _AMZ_DATE.fullmatch(text)
    if match is not None:
        try:
            year, month, day, hour, minute, second = map(int, match.groups())
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            pass
    raise IncompleteSignature(
        f"date {text!r} is not ISO-8601 basic format (YYYYMMDDTHHMMSSZ)",
        f"Date must be in ISO-8601 'basic format'. Got '{text}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601",
    )


def _parse_http_date(text: str) -> datetime:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None:
        raise IncompleteSignature(
            f"Date header {text!r} is not an HTTP date",
            f"Date must be in ISO-8601 'basic format'. Got '{text}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601",
        )
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _signed_list(value: str) -> list[str]:
    return [name for name in (part.strip().lower() for part in value.split(";")) if name]


def _parse_header_auth(value: bytes, index: dict[bytes, list[bytes]],
                       params: list[_Param]) -> _Auth:
    text = value.decode("latin-1").strip()
    algorithm, _, rest = text.partition(" ")

    fields: dict[str, str] = {}
    for token in _AUTH_SPLIT.split(rest):
        if not token:
            continue
        key, eq, val = token.partition("=")
        if not eq:
            # The reason leaves the component out: it may be a bearer token.
            raise IncompleteSignature(
                "Authorization header is not SigV4: a component has no '='",
                f"'{token}' not a valid key=value pair (missing equal-sign) in Authorization "
                f"header: '{text}'.",
            )
        fields.setdefault(key, val)

    amz_date = _first(index, b"x-amz-date")
    http_date = _first(index, b"date") if amz_date is None else None
    missing = [name for name in _HEADER_PARAMS if name not in fields]
    problems = [f"Authorization header requires '{name}' parameter. " for name in missing]
    if amz_date is None and http_date is None:
        missing.append("an X-Amz-Date or Date header")
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
            "header. "
        )
    if problems:
        raise IncompleteSignature(
            f"Authorization header lacks {', '.join(missing)}",
            "".join(problems) + f"Authorization={text}",
        )

    if amz_date is not None:
        date_text = amz_date.decode("latin-1").strip()
        signed_at = _parse_amz_date(date_text)
    else:
        # Signed with a Date header: the string to sign still uses the basic format.
        signed_at = _parse_http_date((http_date or b"").decode("latin-1").strip())
        date_text = signed_at.strftime(_BASIC)

    token = _first(index, b"x-amz-security-token")
    if token is None:
        token = _query_value(params, _TOKEN_PARAM)
    return _Auth(
        "header", algorithm, fields["Credential"], _signed_list(fields["SignedHeaders"]),
        fields["Signature"], date_text, signed_at, None, token,
    )


def _parse_query_auth(params: list[_Param], index: dict[bytes, list[bytes]]) -> _Auth:
    found: dict[str, str] = {}
    for param in params:
        name = param.raw_name.decode("latin-1")
        if name.startswith("X-Amz-") and name not in found:
            found[name] = param.raw_value.decode("latin-1")

    missing = [name for name in _QUERY_PARAMS if name not in found]
    if missing:
        raise IncompleteSignature(
            f"presigned query lacks {', '.join(missing)}",
            "".join(f"AWS query-string parameters must include '{name}'. " for name in missing)
            + "Re-examine the query-string parameters.",
        )

    date_text = found["X-Amz-Date"]
    signed_at = _parse_amz_date(date_text)
    expires = _parse_expires(found.get("X-Amz-Expires"))

    token = _query_value(params, _TOKEN_PARAM)
    if token is None:
        token = _first(index, b"x-amz-security-token")
    return _Auth(
        "query", found["X-Amz-Algorithm"], found["X-Amz-Credential"],
        _signed_list(found["X-Amz-SignedHeaders"]), found["X-Amz-Signature"], date_text,
        signed_at, expires, token,
    )


def _parse_expires(text: str | None) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()):
        if text.startswith("-") and text[1:].isascii() and text[1:].isdigit():
            raise IncompleteSignature(
                f"X-Amz-Expires {text!r} is negative", "X-Amz-Expires must be non-negative"
            )
        raise IncompleteSignature(
            f"X-Amz-Expires {text[:40]!r} is not a number", "X-Amz-Expires should be a number"
        )
    expires = int(text)
    if expires > MAX_PRESIGN_EXPIRES:
        raise IncompleteSignature(
            f"X-Amz-Expires {expires} exceeds {MAX_PRESIGN_EXPIRES} s (7 days)",
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        )
    return expires


# ---------------------------------------------------------------- checks


def _window_text(skew: timedelta) -> str:
    seconds = int(skew.total_seconds())
    return f"{seconds // 60} min." if seconds % 60 == 0 else f"{seconds} sec."


def _check_time(auth: _Auth, now: datetime, max_skew: timedelta) -> None:
    stamp = auth.amz_date
    window = _window_text(max_skew)

    latest = now + max_skew
    if auth.signed_at > latest:
        raise InvalidSignature(
            f"signed at {stamp}, more than {window} after the server time "
            f"{now.strftime(_BASIC)}",
            f"Signature not yet current: {stamp} is still later than "
            f"{latest.strftime(_BASIC)} ({now.strftime(_BASIC)} + {window})",
        )

    if auth.expires is not None:
        deadline = auth.signed_at + timedelta(seconds=auth.expires)
        if now > deadline:
            raise RequestExpired(
                f"presigned URL signed at {stamp} expired at {deadline.strftime(_BASIC)} "
                f"(X-Amz-Expires={auth.expires}); server time {now.strftime(_BASIC)}"
            )
        return

    earliest = now - max_skew
    if auth.signed_at < earliest:
        raise InvalidSignature(
            f"signed at {stamp}, more than {window} before the server time "
            f"{now.strftime(_BASIC)}",
            f"Signature expired: {stamp} is now earlier than {earliest.strftime(_BASIC)} "
            f"({now.strftime(_BASIC)} - {window})",
        )


def _check_scope(auth: _Auth, service: str, region: str | None) -> list[str]:
    parts = auth.credential.split("/")
    if len(parts) != 5:
        raise IncompleteSignature(
            f"credential has {len(parts)} slash-delimited parts, not 5",
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{auth.credential}'",
        )

    _, date, scope_region, scope_service, terminator = parts
    messages: list[str] = []
    reasons: list[str] = []
    if not scope_region or (region is not None and scope_region != region):
        messages.append("Credential should be scoped to a valid region. ")
        reasons.append(f"scope region {scope_region!r}, expected {region!r}")
    if scope_service != service:
        messages.append(f"Credential should be scoped to correct service: '{service}'. ")
        reasons.append(f"scope service {scope_service!r}, expected {service!r}")
    if terminator != TERMINATOR:
        messages.append(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', "
            f"not '{terminator}'. "
        )
        reasons.append(f"scope terminator {terminator!r}")
    if date != auth.amz_date[:8]:
        messages.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{date}' != '{auth.amz_date[:8]}', from '{auth.amz_date}'."
        )
        reasons.append(f"scope date {date!r} differs from request date {auth.amz_date!r}")
    if messages:
        raise InvalidSignature("wrong credential scope: " + "; ".join(reasons), "".join(messages))
    return parts


def _payload_hash(request: HttpRequest, index: dict[bytes, list[bytes]], auth: _Auth) -> str:
    if auth.form == "query" and request.body:
        raise InvalidSignature(
            f"signature mismatch: presigned request carries a {len(request.body)}-byte body, "
            "which a presigned URL does not cover"
        )

    actual = _body_hash(request.body)
    declared = _first(index, b"x-amz-content-sha256")
    if declared is None:
        return actual

    text = declared.decode("latin-1").strip()
    if text == UNSIGNED_PAYLOAD or text.startswith("STREAMING-"):
        raise InvalidSignature(
            f"signature mismatch: x-amz-content-sha256 is {text[:40]}, but the payload must "
            "be signed with the SHA-256 of the body"
        )
    if text != actual:
        raise InvalidSignature(
            "signature mismatch: payload hash of received body differs from declared "
            f"x-amz-content-sha256 (the {len(request.body)}-byte body changed after signing, "
            "or the client hashed other bytes)"
        )
    return actual


def _check_token(credential: Credential, token: bytes | None) -> None:
    key = credential.access_key_id
    if credential.session_token is None:
        if token:
            raise UnrecognizedClient(
                f"session token sent with long-term access key {key}, which has none"
            )
        return

    if not token:
        raise UnrecognizedClient(
            f"temporary access key {key} used without X-Amz-Security-Token"
        )
    if not hmac.compare_digest(token, credential.session_token.encode("utf-8")):
        raise UnrecognizedClient(
            f"X-Amz-Security-Token is not the session token of access key {key}"
        )


# ---------------------------------------------------------------- diagnosis
# Canonical forms some clients sign instead of SigV4's, tried only after a mismatch to name the
# cause in the log. Each part of the canonical request has its own variants and every
# combination is tried, fewest departures from SigV4 first, so the simplest explanation wins.


@dataclass(frozen=True, slots=True)
class _Variant:
    """One way to write one part of the canonical request; `cause` is empty for SigV4's way."""

    cause: str
    rule: str
    text: str


def _sigv4(text: str) -> _Variant:
    return _Variant("", "", text)


def _distinct(variants: Iterable[_Variant]) -> list[_Variant]:
    # Variants that write the same text cannot be told apart: the first one names it.
    seen: set[str] = set()
    kept = []
    for variant in variants:
        if variant.text not in seen:
            seen.add(variant.text)
            kept.append(variant)
    return kept


def _path_variants(raw: bytes) -> list[_Variant]:
    right = canonical_path(raw)
    return _distinct([
        _sigv4(right),
        _Variant("path not normalised",
                 "SigV4 removes '.', '..' and empty segments from the path",
                 quote_from_bytes(raw or b"/", safe="/")),
        # Undo only the second encoding: the path normalised but otherwise as sent.
        _Variant("path not percent-encoded a second time",
                 "SigV4 percent-encodes the path as sent once more (%20 signs as %2520, '(' "
                 "as %28); only S3 signs it as sent",
                 unquote_to_bytes(right).decode("latin-1")),
        _Variant("path exactly as sent (not normalised, not encoded again)",
                 "SigV4 normalises the path, then percent-encodes it once more",
                 (raw or b"/").decode("latin-1")),
    ])


def _query_variants(params: list[_Param], presigned: bool) -> list[_Variant]:
    kept = [p for p in params if not (presigned and p.raw_name == _SIGNATURE_PARAM)]
    wire = [p.wire.partition(b"=") for p in kept]
    raw_sorted = sorted((n.decode("latin-1"), v.decode("latin-1")) for n, _, v in wire)
    twice = sorted((quote_from_bytes(n, safe=""), quote_from_bytes(v, safe="")) for n, _, v in wire)
    return _distinct([
        _sigv4(_join_query(kept, presigned=False)),
        _Variant("query escapes kept as sent instead of decoded and re-encoded",
                 "SigV4 decodes each query name and value and encodes it again "
                 "(space as %20, '/' as %2F, hex in capitals)",
                 "&".join(f"{n}={v}" for n, v in raw_sorted)),
        _Variant("query unsorted, as sent", "SigV4 sorts the query by name, then by value",
                 "&".join(p.wire.decode("latin-1") for p in kept)),
        _Variant("query escapes percent-encoded twice",
                 "SigV4 encodes each decoded name and value once: %20 stays %20, not %2520",
                 "&".join(f"{n}={v}" for n, v in twice)),
    ])


def _ends_trimmed(values: list[bytes]) -> bytes:
    return b",".join(value.strip(b" \t") for value in values)


def _header_variants(index: dict[bytes, list[bytes]], signed: Sequence[str]) -> list[_Variant]:
    variants = [
        _sigv4(_canonical_headers(index, signed)),
        # Ends trimmed first: when no value has spaces at its ends both read the same, and
        # the narrower cause is the better guess.
        _Variant("header values with inner runs of spaces kept",
                 "SigV4 turns each run of spaces inside a header value into one space",
                 _canonical_headers(index, signed, _ends_trimmed)),
        _Variant("header values untrimmed",
                 "SigV4 trims each header value and turns inner runs of spaces into one",
                 _canonical_headers(index, signed, b",".join)),
    ]

    repeated = [name for name in signed if len(index[name.encode("latin-1")]) > 1]
    if repeated:
        names = ", ".join(repeated)
        rule = "SigV4 signs every value of a repeated header, joined with ','"
        variants.append(_Variant(f"first value only of repeated {names}", rule,
                                 _canonical_headers(index, signed, lambda v: _trim(v[0]))))
        variants.append(_Variant(f"last value only of repeated {names}", rule,
                                 _canonical_headers(index, signed, lambda v: _trim(v[-1]))))

    host = _first(index, b"host")
    if host is not None and "host" in signed:
        bare, colon, port = host.rpartition(b":")
        if colon and bare and port.isdigit():
            variants.append(_Variant(
                "host without its port",
                f"the request arrived with Host {host.decode('latin-1')!r}; sign the URL the "
                "request is sent to",
                _canonical_headers({**index, b"host": [bare]}, signed),
            ))
    return _distinct(variants)


def _payload_variants(body: bytes, payload_hash: str) -> list[_Variant]:
    variants = [_sigv4(payload_hash)]
    if body:
        variants.append(_Variant(
            "payload hash of an empty body",
            f"the request carries {len(body)} bytes: the body changed after signing, or the "
            "signer was not given it",
            EMPTY_SHA256,
        ))
    variants.append(_Variant(
        "payload hash UNSIGNED-PAYLOAD",
        "a function URL needs the SHA-256 of the body (UNSIGNED-PAYLOAD is S3's presigning "
        "form)",
        UNSIGNED_PAYLOAD,
    ))
    return variants


def _departures(combo: tuple[_Variant, ...]) -> int:
    return sum(1 for variant in combo if variant.cause)


def _diagnose(request: HttpRequest, index: dict[bytes, list[bytes]], params: list[_Param],
              auth: _Auth, payload_hash: str, sign: Callable[[str], bytes]) -> str:
    """Name the canonicalisation the client used when a known non-SigV4 one matches."""
    provided = auth.signature.encode("latin-1")
    signed = ";".join(auth.signed_headers)
    parts = (
        _path_variants(request.raw_path),
        _query_variants(params, auth.form == "query"),
        _header_variants(index, auth.signed_headers),
        _payload_variants(request.body, payload_hash),
    )

    # The first combination is SigV4's own, which has already failed.
    combos = sorted(product(*parts), key=_departures)
    for combo in combos[1:]:
        path, query, headers, payload = (variant.text for variant in combo)
        candidate = f"{request.method}\n{path}\n{query}\n{headers}\n{signed}\n{payload}"
        if hmac.compare_digest(sign(candidate), provided):
            departures = [variant for variant in combo if variant.cause]
            causes = " and ".join(variant.cause for variant in departures)
            rules = "; ".join(variant.rule for variant in departures)
            return f"signature mismatch: the client signed the {causes}; {rules}"

    # No values in the log: a presigned query carries the session token.
    path = combos[0][0].text
    names = sorted({param.name for param in params})
    return (
        "signature mismatch: no known client mistake explains it; the method, path, query, a "
        "signed header or the body changed after signing, or the secret key is wrong (fnurl "
        f"signed {request.method} {path[:120]!r}, query names {', '.join(names)[:120] or '-'}, "
        f"SignedHeaders {signed}, body SHA-256 {payload_hash[:16]}...)"
    )


# ---------------------------------------------------------------- entry points


def is_signed(request: HttpRequest) -> bool:
    """True when the request carries any SigV4 (Authorization header or presigned query)."""
    for name, _ in request.headers:
        if name == b"authorization":
            return True

    query = request.query_string
    if b"X-Amz-" not in query and b"%" not in query:
        return False
    return _has_query_auth(_parse_query(query))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def verify(
    request: HttpRequest,
    *,
    service: str,
    region: str | None,
    now: datetime,
    lookup: Callable[[str], Credential | None],
    max_skew: timedelta = timedelta(minutes=5),
) -> VerifiedSignature:
    """Authenticate `request`; raise a `SigV4Error` subclass AWS-shaped for the client.

    `region=None` accepts any region in the credential scope (the control plane); otherwise
    the scope must name `region`. A naive `now` is taken as UTC.
    """
    index = _header_index(request.headers)
    params = _parse_query(request.query_string)
    authorization = _first(index, b"authorization")
    if authorization is not None:
        auth = _parse_header_auth(authorization, index, params)
    elif _has_query_auth(params):
        auth = _parse_query_auth(params, index)
    else:
        raise MissingAuthentication(
            "no Authorization header and no X-Amz-* authentication in the query"
        )

    _check_time(auth, _utc(now), max_skew)

    if "host" not in auth.signed_headers:
        raise InvalidSignature("SignedHeaders lacks host", _HOST_NOT_SIGNED)
    if auth.algorithm != ALGORITHM:
        raise IncompleteSignature(
            f"unsupported algorithm {auth.algorithm[:40]!r}",
            f"Unsupported AWS 'algorithm': '{auth.algorithm}' (only {ALGORITHM} for now). ",
        )
    access_key_id, date, scope_region, scope_service, _ = _check_scope(auth, service, region)

    credential = lookup(access_key_id)
    if credential is None:
        raise UnrecognizedClient(f"unknown access key id {access_key_id}")

    absent = [name for name in auth.signed_headers if name.encode("latin-1") not in index]
    if absent:
        raise InvalidSignature(
            f"signature mismatch: signed headers absent from the request: {', '.join(absent)} "
            "(SignedHeaders lists them, but a proxy or the HTTP library dropped them, or the "
            "client never sent them)"
        )
    payload_hash = _payload_hash(request, index, auth)

    scope = f"{date}/{scope_region}/{scope_service}/{TERMINATOR}"
    secret = credential.secret_access_key

    def sign(canonical: str) -> bytes:
        sts = string_to_sign(auth.amz_date, scope, canonical)
        return compute_signature(secret, date, scope_region, scope_service, sts).encode()

    path = canonical_path(request.raw_path)
    query = _join_query(params, auth.form == "query")
    tail = _tail(index, auth.signed_headers, payload_hash)
    canonical = f"{request.method}\n{path}\n{query}\n{tail}"
    if not hmac.compare_digest(sign(canonical), auth.signature.encode("latin-1")):
        raise InvalidSignature(_diagnose(request, index, params, auth, payload_hash, sign))

    _check_token(credential, auth.token)
    return VerifiedSignature(
        credential, access_key_id, scope_region, scope_service, auth.signed_at, auth.form
    )
