"""Tampering, through a real server: a signed request with any one thing changed is refused.

Each row signs a fresh request with botocore, changes one thing on the way out, and expects
AWS's 403 with the error type AWS would use; the unchanged request gets a 200. Both forms:
the Authorization header and a presigned URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.servers import Server
from tests.sigv4.conftest import ALICE, BOB, URL_ID, Wire, auth_line

MISMATCH = "InvalidSignatureException"
BASIC = "%Y%m%dT%H%M%SZ"

BASE = Wire(
    "POST", "/orders/1", "limit=10&tag=a",
    {"Content-Type": "application/json", "X-Custom": "one"}, b'{"n": 1}',
)
PRESIGNED_BASE = Wire("GET", "/shared/report", "limit=10&tag=a")


def url_of(server: Server, wire: Wire) -> str:
    return server.path_url(URL_ID, wire.path) + (f"?{wire.query}" if wire.query else "")


def sign(server: Server, wire: Wire, key: tuple[str, str] = ALICE) -> Wire:
    request = AWSRequest(wire.method, url_of(server, wire), data=wire.body,
                         headers=dict(wire.headers))
    SigV4Auth(Credentials(*key), "lambda", "us-east-1").add_auth(request)
    return replace(wire, headers=dict(request.headers.items()))


def presign(server: Server, wire: Wire, key: tuple[str, str] = ALICE) -> Wire:
    request = AWSRequest(wire.method, url_of(server, wire))
    SigV4QueryAuth(Credentials(*key), "lambda", "us-east-1", expires=300).add_auth(request)
    return replace(wire, query=urlsplit(request.url).query)


def in_authorization(old: str, new: str) -> Callable[[Wire], Wire]:
    def change(wire: Wire) -> Wire:
        value = wire.header("Authorization")
        assert old in value, (old, value)
        return wire.with_header("Authorization", value.replace(old, new, 1))

    return change


def in_query(old: str, new: str) -> Callable[[Wire], Wire]:
    def change(wire: Wire) -> Wire:
        assert old in wire.query, (old, wire.query)
        return replace(wire, query=wire.query.replace(old, new, 1))

    return change


def shift_header_date(seconds: int) -> Callable[[Wire], Wire]:
    def change(wire: Wire) -> Wire:
        stamp = wire.header("X-Amz-Date")
        return wire.with_header("X-Amz-Date", shifted(stamp, seconds))

    return change


def shift_query_date(seconds: int) -> Callable[[Wire], Wire]:
    def change(wire: Wire) -> Wire:
        stamp = query_date(wire)
        return in_query(f"X-Amz-Date={stamp}", f"X-Amz-Date={shifted(stamp, seconds)}")(wire)

    return change


def shifted(stamp: str, seconds: int) -> str:
    moment = datetime.strptime(stamp, BASIC).replace(tzinfo=UTC) + timedelta(seconds=seconds)
    return moment.strftime(BASIC)


def query_date(wire: Wire) -> str:
    return wire.query.partition("X-Amz-Date=")[2][:16]


def day_before(stamp: str) -> str:
    return shifted(stamp, -86400)[:8]


def header_scope_date(wire: Wire) -> Wire:
    stamp = wire.header("X-Amz-Date")
    return in_authorization(f"/{stamp[:8]}/", f"/{day_before(stamp)}/")(wire)


def query_scope_date(wire: Wire) -> Wire:
    stamp = query_date(wire)
    return in_query(f"%2F{stamp[:8]}%2F", f"%2F{day_before(stamp)}%2F")(wire)


Row = tuple[str, Callable[[Wire], Wire], str]

# (what changes, how, the x-amzn-ErrorType AWS answers with)
HEADER_ROWS: list[Row] = [
    ("method", lambda w: replace(w, method="PUT"), MISMATCH),
    ("path", lambda w: replace(w, path="/orders/2"), MISMATCH),
    ("path, a segment added", lambda w: replace(w, path="/orders/1/x"), MISMATCH),
    ("query value", in_query("limit=10", "limit=11"), MISMATCH),
    ("query parameter added", lambda w: replace(w, query=w.query + "&extra=1"), MISMATCH),
    ("query parameter removed", in_query("&tag=a", ""), MISMATCH),
    ("signed header value", lambda w: w.with_header("X-Custom", "two"), MISMATCH),
    ("signed content-type", lambda w: w.with_header("Content-Type", "text/plain"), MISMATCH),
    ("signed header removed", lambda w: w.with_header("X-Custom", None), MISMATCH),
    ("host", lambda w: w.with_header("Host", "localhost.localdomain"), MISMATCH),
    ("body", lambda w: replace(w, body=b'{"n": 2}'), MISMATCH),
    ("body emptied", lambda w: replace(w, body=b""), MISMATCH),
    ("x-amz-date, one second", shift_header_date(1), MISMATCH),
    ("scope region", in_authorization("/us-east-1/", "/us-west-2/"), MISMATCH),
    ("scope service", in_authorization("/lambda/", "/execute-api/"), MISMATCH),
    ("scope date", header_scope_date, MISMATCH),
    ("key id of another user", in_authorization(ALICE[0], BOB[0]), MISMATCH),
    ("key id unknown", in_authorization(ALICE[0], "AKIAUNKNOWNTAMPER099"),
     "UnrecognizedClientException"),
    ("SignedHeaders shortened", in_authorization(";x-custom", ""), MISMATCH),
    ("signature", in_authorization("Signature=", "Signature=0"), MISMATCH),
    ("session token added", lambda w: w.with_header("X-Amz-Security-Token", "stray"),
     "UnrecognizedClientException"),
]

PRESIGNED_ROWS: list[Row] = [
    ("method", lambda w: replace(w, method="DELETE"), MISMATCH),
    ("path", lambda w: replace(w, path="/shared/other"), MISMATCH),
    ("query value", in_query("limit=10", "limit=11"), MISMATCH),
    ("query parameter added", lambda w: replace(w, query=w.query + "&extra=1"), MISMATCH),
    ("body added", lambda w: replace(w, method="POST", body=b"{}"), MISMATCH),
    ("host", lambda w: w.with_header("Host", "localhost.localdomain"), MISMATCH),
    ("X-Amz-Date, one second", shift_query_date(1), MISMATCH),
    ("X-Amz-Expires", in_query("X-Amz-Expires=300", "X-Amz-Expires=3000"), MISMATCH),
    ("scope region", in_query("%2Fus-east-1%2F", "%2Fus-west-2%2F"), MISMATCH),
    ("scope service", in_query("%2Flambda%2F", "%2Fexecute-api%2F"), MISMATCH),
    ("scope date", query_scope_date, MISMATCH),
    ("key id of another user", in_query(ALICE[0], BOB[0]), MISMATCH),
    ("key id unknown", in_query(ALICE[0], "AKIAUNKNOWNTAMPER099"),
     "UnrecognizedClientException"),
    ("X-Amz-SignedHeaders", in_query("X-Amz-SignedHeaders=host",
                                     "X-Amz-SignedHeaders=host%3Bx-custom"), MISMATCH),
    ("signature", in_query("X-Amz-Signature=", "X-Amz-Signature=0"), MISMATCH),
]


def test_unchanged_signed_request_is_let_in(sigv4_server: Server) -> None:
    response = sign(sigv4_server, BASE).send(sigv4_server)

    assert response.status_code == 200, response.text
    event = response.json()["event"]
    assert event["body"] == '{"n": 1}' and event["rawQueryString"] == "limit=10&tag=a"
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == ALICE[0]


def test_unchanged_presigned_request_is_let_in(sigv4_server: Server) -> None:
    response = presign(sigv4_server, PRESIGNED_BASE).send(sigv4_server)

    assert response.status_code == 200, response.text
    assert response.json()["event"]["requestContext"]["authorizer"]["iam"]["accessKey"] == (
        ALICE[0]
    )


def refused(server: Server, wire: Wire, error_type: str) -> None:
    before = server.log().count("START RequestId")

    response = wire.send(server)

    assert response.status_code == 403, response.text
    assert response.headers["x-amzn-errortype"] == error_type
    assert json.loads(response.content)["message"]
    assert error_type in auth_line(server, response)
    assert server.log().count("START RequestId") == before, "the handler ran"


@pytest.mark.parametrize(("what", "change", "error_type"), HEADER_ROWS,
                         ids=[row[0] for row in HEADER_ROWS])
def test_changed_signed_request_is_refused(sigv4_server: Server, what: str,
                                           change: Callable[[Wire], Wire],
                                           error_type: str) -> None:
    signed = sign(sigv4_server, BASE)

    refused(sigv4_server, change(signed), error_type)


@pytest.mark.parametrize(("what", "change", "error_type"), PRESIGNED_ROWS,
                         ids=[row[0] for row in PRESIGNED_ROWS])
def test_changed_presigned_request_is_refused(sigv4_server: Server, what: str,
                                              change: Callable[[Wire], Wire],
                                              error_type: str) -> None:
    signed = presign(sigv4_server, PRESIGNED_BASE)

    refused(sigv4_server, change(signed), error_type)
