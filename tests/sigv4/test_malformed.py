"""Malformed SigV4, through a real server: always a 403 with a specific message, never a 5xx.

Every row starts from a request botocore signed (header form) or presigned (query form), breaks
one thing, and expects the error type and message AWS answers with. httpx's 10 s timeout turns
a hang into a failure.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.servers import Server
from tests.sigv4.conftest import ALICE, URL_ID, Wire, auth_line
from tests.sigv4.test_tamper import BASE, PRESIGNED_BASE, in_query, presign, sign

INCOMPLETE = "IncompleteSignatureException"
INVALID = "InvalidSignatureException"
UNRECOGNIZED = "UnrecognizedClientException"
DENIED = "AccessDeniedException"
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
HOST_NOT_SIGNED = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
WEEK = "X-Amz-Expires must be less than a week (in seconds) that is 604800"
BASIC_DATE = (
    "Date must be in ISO-8601 'basic format'. Got '{}'. "
    "See http://en.wikipedia.org/wiki/ISO_8601"
)
BAD_TOKEN = "The security token included in the request is invalid."
FIVE_PARTS = ("Credential must have exactly 5 slash-delimited elements, "
              "e.g. keyid/date/region/service/term, got '{}'")


def authorization(value: str) -> Callable[[Wire], Wire]:
    return lambda wire: wire.with_header("Authorization", value)


def credential_of(wire: Wire) -> str:
    return wire.header("Authorization").partition("Credential=")[2].partition(",")[0]


def with_credential(make: Callable[[list[str]], str]) -> Callable[[Wire], Wire]:
    """Replace the Credential component with `make(its five parts)`."""
    def change(wire: Wire) -> Wire:
        old = credential_of(wire)
        value = wire.header("Authorization").replace(old, make(old.split("/")), 1)
        return wire.with_header("Authorization", value)

    return change


def drop_component(name: str) -> Callable[[Wire], Wire]:
    def change(wire: Wire) -> Wire:
        parts = wire.header("Authorization").split(" ", 1)[1].split(", ")
        kept = ", ".join(part for part in parts if not part.startswith(f"{name}="))
        return wire.with_header("Authorization", f"AWS4-HMAC-SHA256 {kept}")

    return change


def without_query(name: str) -> Callable[[Wire], Wire]:
    def change(wire: Wire) -> Wire:
        kept = [p for p in wire.query.split("&") if not p.startswith(f"{name}=")]
        return replace(wire, query="&".join(kept))

    return change


def query_value(wire: Wire, name: str) -> str:
    return wire.query.partition(f"{name}=")[2].partition("&")[0]


def full_authorization(wire: Wire) -> str:
    return wire.header("Authorization")


# A message is a string, or a function of the request as sent; a prefix ends in "...".
Message = str | Callable[[Wire], str]
Row = tuple[str, Callable[[Wire], Wire], str, Message]

HEADER_ROWS: list[Row] = [
    ("empty Authorization", authorization(""), INCOMPLETE,
     "Authorization header requires 'Credential' parameter. "
     "Authorization header requires 'Signature' parameter. "
     "Authorization header requires 'SignedHeaders' parameter. Authorization="),
    ("algorithm alone", authorization("AWS4-HMAC-SHA256"), INCOMPLETE,
     "Authorization header requires 'Credential' parameter. "
     "Authorization header requires 'Signature' parameter. "
     "Authorization header requires 'SignedHeaders' parameter. "
     "Authorization=AWS4-HMAC-SHA256"),
    ("no Credential", drop_component("Credential"), INCOMPLETE,
     lambda w: "Authorization header requires 'Credential' parameter. "
     f"Authorization={full_authorization(w)}"),
    ("no SignedHeaders", drop_component("SignedHeaders"), INCOMPLETE,
     lambda w: "Authorization header requires 'SignedHeaders' parameter. "
     f"Authorization={full_authorization(w)}"),
    ("no Signature", drop_component("Signature"), INCOMPLETE,
     lambda w: "Authorization header requires 'Signature' parameter. "
     f"Authorization={full_authorization(w)}"),
    ("bearer token", authorization("Bearer abc.def.ghi"), INCOMPLETE,
     "'abc.def.ghi' not a valid key=value pair (missing equal-sign) in Authorization header: "
     "'Bearer abc.def.ghi'."),
    ("SigV2 header", authorization(f"AWS {ALICE[0]}:c2lnbmF0dXJl"), INCOMPLETE,
     f"'{ALICE[0]}:c2lnbmF0dXJl' not a valid key=value pair (missing equal-sign) in "
     f"Authorization header: 'AWS {ALICE[0]}:c2lnbmF0dXJl'."),
    ("unsupported algorithm",
     lambda w: w.with_header("Authorization", full_authorization(w).replace(
         "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")), INCOMPLETE,
     "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now). "),
    ("SignedHeaders without host",
     lambda w: w.with_header("Authorization", full_authorization(w).replace(
         "SignedHeaders=content-type;host;", "SignedHeaders=content-type;")), INVALID,
     HOST_NOT_SIGNED),
    ("SignedHeaders empty",
     lambda w: w.with_header("Authorization", full_authorization(w).replace(
         "SignedHeaders=content-type;host;x-amz-date;x-custom", "SignedHeaders=")), INVALID,
     HOST_NOT_SIGNED),
    ("SignedHeaders names an absent header",
     lambda w: w.with_header("Authorization", full_authorization(w).replace(
         ";x-custom", ";x-custom;x-absent")), INVALID, MISMATCH),
    ("Signature empty",
     lambda w: w.with_header("Authorization", full_authorization(w).split("Signature=")[0]
                             + "Signature="), INVALID, MISMATCH),
    ("Signature not hex",
     lambda w: w.with_header("Authorization", full_authorization(w).split("Signature=")[0]
                             + "Signature=zz%00"), INVALID, MISMATCH),
    ("credential with four parts", with_credential(lambda p: "/".join(p[:4])), INCOMPLETE,
     lambda w: FIVE_PARTS.format(credential_of(w))),
    ("credential with six parts", with_credential(lambda p: "/".join([*p, "x"])), INCOMPLETE,
     lambda w: FIVE_PARTS.format(credential_of(w))),
    ("credential without key id", with_credential(lambda p: "/".join(["", *p[1:]])),
     UNRECOGNIZED, BAD_TOKEN),
    ("scope without region", with_credential(lambda p: "/".join([p[0], p[1], "", *p[3:]])),
     INVALID, "Credential should be scoped to a valid region. "),
    ("scope with another service", with_credential(
        lambda p: "/".join([*p[:3], "s3", p[4]])), INVALID,
     "Credential should be scoped to correct service: 'lambda'. "),
    ("scope with a wrong terminator", with_credential(lambda p: "/".join([*p[:4], "aws4"])),
     INVALID, "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'. "),
    ("scope date not a date", with_credential(lambda p: "/".join([p[0], "2026-1-1", *p[2:]])),
     INVALID, lambda w: "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
     f"version of date from HTTP: '2026-1-1' != '{w.header('X-Amz-Date')[:8]}', from "
     f"'{w.header('X-Amz-Date')}'."),
    ("no X-Amz-Date or Date", lambda w: w.with_header("X-Amz-Date", None), INCOMPLETE,
     lambda w: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
     f"header. Authorization={full_authorization(w)}"),
    ("X-Amz-Date in extended format",
     lambda w: w.with_header("X-Amz-Date", "2026-01-15T12:00:00Z"), INCOMPLETE,
     BASIC_DATE.format("2026-01-15T12:00:00Z")),
    ("X-Amz-Date month 13", lambda w: w.with_header("X-Amz-Date", "20261301T120000Z"),
     INCOMPLETE, BASIC_DATE.format("20261301T120000Z")),
    ("X-Amz-Date empty", lambda w: w.with_header("X-Amz-Date", ""), INCOMPLETE,
     BASIC_DATE.format("")),
    ("Date header not a date",
     lambda w: w.with_header("X-Amz-Date", None).with_header("Date", "yesterday"),
     INCOMPLETE, BASIC_DATE.format("yesterday")),
    ("X-Amz-Date six minutes old",
     lambda w: w.with_header("X-Amz-Date", (datetime.now(UTC) - timedelta(minutes=6))
                             .strftime("%Y%m%dT%H%M%SZ")), INVALID, "Signature expired: ..."),
    ("X-Amz-Date six minutes ahead",
     lambda w: w.with_header("X-Amz-Date", (datetime.now(UTC) + timedelta(minutes=6))
                             .strftime("%Y%m%dT%H%M%SZ")), INVALID,
     "Signature not yet current: ..."),
    ("X-Amz-Date in the year 9999", lambda w: w.with_header("X-Amz-Date", "99991231T235959Z"),
     INVALID, "Signature not yet current: 99991231T235959Z is still later than ..."),
    ("X-Amz-Date in the year 1", lambda w: w.with_header("X-Amz-Date", "00010101T000000Z"),
     INVALID, "Signature expired: 00010101T000000Z is now earlier than ..."),
]

QUERY_ROWS: list[Row] = [
    *[
        (f"no {name}", without_query(name), INCOMPLETE,
         f"AWS query-string parameters must include '{name}'. "
         "Re-examine the query-string parameters.")
        for name in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
                     "X-Amz-SignedHeaders", "X-Amz-Date")
    ],
    ("X-Amz-Algorithm unsupported",
     in_query("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=HMAC"), INCOMPLETE,
     "Unsupported AWS 'algorithm': 'HMAC' (only AWS4-HMAC-SHA256 for now). "),
    ("X-Amz-Date malformed", lambda w: in_query(
        f"X-Amz-Date={query_value(w, 'X-Amz-Date')}", "X-Amz-Date=soon")(w), INCOMPLETE,
     BASIC_DATE.format("soon")),
    ("X-Amz-Expires negative", in_query("X-Amz-Expires=300", "X-Amz-Expires=-1"), INCOMPLETE,
     "X-Amz-Expires must be non-negative"),
    ("X-Amz-Expires not a number", in_query("X-Amz-Expires=300", "X-Amz-Expires=5m"),
     INCOMPLETE, "X-Amz-Expires should be a number"),
    ("X-Amz-Expires over a week", in_query("X-Amz-Expires=300", "X-Amz-Expires=604801"),
     INCOMPLETE, WEEK),
    ("X-Amz-Credential with two parts", lambda w: in_query(
        f"X-Amz-Credential={query_value(w, 'X-Amz-Credential')}",
        f"X-Amz-Credential={ALICE[0]}%2Fus-east-1")(w), INCOMPLETE,
     FIVE_PARTS.format(f"{ALICE[0]}/us-east-1")),
    ("X-Amz-SignedHeaders without host",
     in_query("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-custom"), INVALID,
     HOST_NOT_SIGNED),
    ("expired", lambda w: in_query(
        f"X-Amz-Date={query_value(w, 'X-Amz-Date')}",
        "X-Amz-Date=" + (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y%m%dT%H%M%SZ"),
    )(w), DENIED, "Request has expired"),
]


def check(server: Server, wire: Wire, error_type: str, message: Message) -> None:
    response = wire.send(server)

    assert response.status_code == 403, response.text
    assert response.headers["x-amzn-errortype"] == error_type
    expected = message(wire) if callable(message) else message
    got = json.loads(response.content)["message"]
    if expected.endswith("..."):
        assert got.startswith(expected[:-3]), got
    else:
        assert got == expected
    assert error_type in auth_line(server, response)


@pytest.mark.parametrize(("what", "change", "error_type", "message"), HEADER_ROWS,
                         ids=[row[0] for row in HEADER_ROWS])
def test_malformed_header_signature(sigv4_server: Server, what: str,
                                    change: Callable[[Wire], Wire], error_type: str,
                                    message: Message) -> None:
    check(sigv4_server, change(sign(sigv4_server, BASE)), error_type, message)


@pytest.mark.parametrize(("what", "change", "error_type", "message"), QUERY_ROWS,
                         ids=[row[0] for row in QUERY_ROWS])
def test_malformed_presigned_query(sigv4_server: Server, what: str,
                                   change: Callable[[Wire], Wire], error_type: str,
                                   message: Message) -> None:
    check(sigv4_server, change(presign(sigv4_server, PRESIGNED_BASE)), error_type, message)


@pytest.mark.parametrize("value", [b"\xff\xfe\x00garbage", b"AWS4-HMAC-SHA256 \xe9=\xe9",
                                   b"AWS4-HMAC-SHA256 " + b"Credential=" + b"A" * 6000])
def test_binary_and_huge_authorization_headers(sigv4_server: Server, value: bytes) -> None:
    # httpx will not send these bytes, so the request goes out by hand.
    connection = http.client.HTTPConnection("127.0.0.1", sigv4_server.port, timeout=10)
    try:
        connection.putrequest("GET", f"/_fnurl/{URL_ID}/x")
        connection.putheader("Authorization", value.replace(b"\x00", b""))
        connection.putheader("X-Amz-Date", datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status == 403, body
    assert response.getheader("x-amzn-errortype") == INCOMPLETE
    assert json.loads(body)["message"]
