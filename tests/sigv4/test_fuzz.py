"""Fuzzing the verifier with hypothesis, on a bounded budget (FNURL_FUZZ_EXAMPLES scales it).

- Any bytes in the Authorization header, dates, query, path, headers and body: `verify`
  answers or raises a `SigV4Error` (a 403 with a message), nothing else, and quickly.
- Requests botocore signs from random parts in SigV4's canonical encoding: fnurl accepts
  them all, and refuses each once one byte of the body, the query or a header changes.
- The same random Authorization headers and queries through a real server: 403, never 5xx.
"""

from __future__ import annotations

import http.client
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fnurl import sigv4
from tests.servers import Server
from tests.sigv4.conftest import ALICE, URL_ID

EXAMPLES = int(os.environ.get("FNURL_FUZZ_EXAMPLES", "200"))
NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)
TEMP = ("ASIAFUZZTEMPORARY001", "temporary/secret", "fuzz-token")
KEYS = {
    ALICE[0]: sigv4.Credential(*ALICE),
    TEMP[0]: sigv4.Credential(*TEMP),
}
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

# Pieces of real SigV4 text, so that random strings get past the first checks often.
PIECES = [
    "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 ", " ", ",", ", ", "=", "/", ";", "&", "%", "%2F",
    "%ZZ", "+", "\t", "\u00e9", "\x00", "Credential=", "SignedHeaders=", "Signature=", "host",
    "x-amz-date", "x-amz-security-token", "aws4_request", "us-east-1", "lambda", ALICE[0],
    TEMP[0], "20260115", "20260115T120000Z", "20260115T115900Z", "99991231T235959Z",
    "00000000T000000Z", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token", "604800", "-1",
    "9" * 30, "0" * 64,
]
text = st.lists(st.sampled_from(PIECES), max_size=24).map("".join)
latin1 = text.map(lambda value: value.encode("latin-1"))
some_bytes = st.one_of(latin1, st.binary(max_size=120))
amz_date = st.one_of(
    st.none(), some_bytes,
    st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.strftime("%Y%m%dT%H%M%SZ"))
    .map(str.encode),
)


def mostly(right: st.SearchStrategy[Any], wrong: st.SearchStrategy[Any] = text
           ) -> st.SearchStrategy[Any]:
    """`right` three times in four, so that most requests get past the early checks."""
    return st.sampled_from([right, right, right, wrong]).flatmap(lambda chosen: chosen)


# Whether a part is there at all: seven times in eight.
KEEP = st.sampled_from([True] * 7 + [False])
near_now = st.integers(-900, 900).map(
    lambda seconds: (NOW + timedelta(seconds=seconds)).strftime("%Y%m%dT%H%M%SZ"))
scope_part = st.sampled_from([ALICE[0], TEMP[0], "AKIAUNKNOWN", "", "20260115", "20260114",
                              "us-east-1", "eu-west-1", "lambda", "sts", "aws4_request"])
credential = st.one_of(
    st.tuples(mostly(st.sampled_from([ALICE[0], TEMP[0]])), mostly(st.just("20260115")),
              mostly(st.just("us-east-1")), mostly(st.just("lambda")),
              mostly(st.just("aws4_request"))).map("/".join),
    st.lists(mostly(scope_part), max_size=7).map("/".join),
)
signed_names = mostly(st.just("host;x-amz-date"), st.one_of(text, st.lists(
    st.sampled_from(["host", "x-amz-date", "x-amz-security-token", "x-custom", "date", "HOST",
                     ""]), max_size=4).map(";".join)))
signature = mostly(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64))


@st.composite
def authorizations(draw: st.DrawFn) -> bytes:
    """An Authorization header that is SigV4 in shape, with any part of it wrong or left out."""
    algorithm = draw(mostly(st.just("AWS4-HMAC-SHA256")))
    parts = [
        (name, draw(value)) for name, value in
        (("Credential", credential), ("SignedHeaders", signed_names), ("Signature", signature))
        if draw(KEEP)
    ]
    parts += draw(st.lists(st.tuples(text, text), max_size=1))
    separator = draw(st.sampled_from([", ", ",", " ", " ,\t"]))
    joined = separator.join(f"{name}={value}" for name, value in parts)
    return f"{algorithm} {joined}".encode("latin-1")


@st.composite
def presigned_queries(draw: st.DrawFn) -> bytes:
    """X-Amz-* parameters with values that are right, nearly right or random."""
    values = {
        "X-Amz-Algorithm": mostly(st.just("AWS4-HMAC-SHA256")),
        "X-Amz-Credential": credential.map(lambda c: quote(c, safe="")),
        "X-Amz-Date": mostly(near_now),
        "X-Amz-Expires": mostly(st.integers(-10, 700000).map(str)),
        "X-Amz-SignedHeaders": signed_names.map(lambda n: quote(n, safe="")),
        "X-Amz-Signature": signature,
        "X-Amz-Security-Token": mostly(st.just(TEMP[2])),
    }
    pairs = [f"{name}={draw(value)}" for name, value in values.items() if draw(KEEP)]
    pairs += [f"{draw(text)}={draw(text)}" for _ in range(draw(st.integers(0, 2)))]
    return "&".join(draw(st.permutations(pairs))).encode("latin-1")


@st.composite
def requests(draw: st.DrawFn) -> sigv4.HttpRequest:
    form = draw(st.sampled_from(["header", "query", "any"]))
    headers: list[tuple[bytes, bytes]] = [(b"host", draw(some_bytes))]
    authorization = draw({
        "header": authorizations(), "query": st.none(),
        "any": st.one_of(st.none(), some_bytes, authorizations()),
    }[form])
    if authorization is not None:
        headers.append((b"authorization", authorization))
    date = draw(mostly(near_now.map(str.encode), amz_date))
    if date is not None:
        headers.append((b"x-amz-date", date))
    names = st.sampled_from([b"date", b"x-amz-security-token", b"x-amz-content-sha256",
                             b"x-custom", b"host"])
    headers += draw(st.lists(st.tuples(names, some_bytes), max_size=4))
    query = draw(presigned_queries() if form == "query" else some_bytes)
    return sigv4.HttpRequest(
        draw(st.sampled_from(["GET", "POST", "PUT", ""])),
        draw(some_bytes), query, headers, draw(st.binary(max_size=40)),
    )


@FUZZ
@given(requests())
def test_any_input_gets_a_403_or_passes(request: sigv4.HttpRequest) -> None:
    try:
        verified = sigv4.verify(request, service="lambda", region="us-east-1", now=NOW,
                                lookup=KEYS.get)
    except sigv4.SigV4Error as refused:
        assert refused.status == 403
        assert refused.reason
        assert refused.message or isinstance(refused, sigv4.MissingAuthentication)
        return
    # Random bytes that happen to verify would be a forged signature.
    raise AssertionError(f"accepted a fuzzed request: {verified}")


# ---------------------------------------------------------------- differential with botocore

SAFE = "-_.~"
plain = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                max_size=8)
encoded = plain.map(lambda value: quote(value, safe=SAFE))
segment = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",),
                                         exclude_characters="/."), min_size=1, max_size=8)
header_value = st.text(alphabet=st.sampled_from("ab yz09-=,; \t"), max_size=12)


@st.composite
def signed_requests(draw: st.DrawFn) -> sigv4.HttpRequest:
    """A request built from random parts, as botocore signs and sends it."""
    # Dot and empty segments too: both sides normalise them away before signing.
    parts = draw(st.lists(st.one_of(segment, st.sampled_from([".", "..", ""])), max_size=5))
    path = "/" + "/".join(quote(part, safe=SAFE + "!$&'()*+,;=:@") for part in parts)
    pairs = draw(st.lists(st.tuples(encoded.filter(bool), encoded), max_size=5))
    query = "&".join(f"{name}={value}" for name, value in pairs)
    headers = {f"x-h{index}": value for index, value in
               enumerate(draw(st.lists(header_value, max_size=3)))}
    body = draw(st.binary(max_size=40))
    method = draw(st.sampled_from(["GET", "POST", "DELETE"]))

    url = f"http://127.0.0.1:9000{path}" + (f"?{query}" if query else "")
    signed = AWSRequest(method, url, data=body, headers=headers)
    SigV4Auth(Credentials(*ALICE), "lambda", "us-east-1").add_auth(signed)
    sent = [(b"host", b"127.0.0.1:9000")]
    sent += [(k.lower().encode(), v.encode()) for k, v in signed.headers.items()]
    return sigv4.HttpRequest(method, path.encode(), query.encode(), sent, body)


def verify_now(request: sigv4.HttpRequest) -> sigv4.VerifiedSignature:
    return sigv4.verify(request, service="lambda", region="us-east-1", now=datetime.now(UTC),
                        lookup=KEYS.get)


@FUZZ
@given(signed_requests(), st.data())
def test_botocore_signed_parts_verify_and_any_change_is_refused(
    request: sigv4.HttpRequest, data: st.DataObject
) -> None:
    assert verify_now(request).access_key_id == ALICE[0]

    part = data.draw(st.sampled_from(["body", "query", "header"]))
    if part == "body":
        changed = request.body + b"!" if not request.body else bytes(
            [request.body[0] ^ 1]) + request.body[1:]
        request = sigv4.HttpRequest(request.method, request.raw_path, request.query_string,
                                    request.headers, changed)
    elif part == "query":
        request = sigv4.HttpRequest(request.method, request.raw_path,
                                    request.query_string + b"&fuzz=1", request.headers,
                                    request.body)
    else:
        headers = [(n, v + b"x" if n == b"x-amz-date" else v) for n, v in request.headers]
        request = sigv4.HttpRequest(request.method, request.raw_path, request.query_string,
                                    headers, request.body)
    try:
        verify_now(request)
    except (sigv4.InvalidSignature, sigv4.IncompleteSignature):
        return
    raise AssertionError(f"a changed {part} was accepted")


# ---------------------------------------------------------------- through the server

@settings(max_examples=max(EXAMPLES // 6, 10), deadline=None, database=None)
@given(authorization=text, query=text, date=text)
def test_random_signatures_through_the_server(sigv4_server: Server, authorization: str,
                                              query: str, date: str) -> None:
    # Header values cannot hold line breaks or NUL, and the request line no spaces: the rest
    # goes out as generated, by hand, since HTTP clients refuse much of it.
    def header(value: str) -> bytes:
        return value.encode("latin-1").translate(None, b"\r\n\x00").strip() or b"x"

    target = f"/_fnurl/{URL_ID}/fuzz?" + quote(query, safe="=&%/+;,:@!$'()*~")
    connection = http.client.HTTPConnection("127.0.0.1", sigv4_server.port, timeout=10)
    try:
        connection.putrequest("GET", target)
        connection.putheader("Authorization", header(authorization))
        connection.putheader("X-Amz-Date", header(date))
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status == 403, body
    assert json.loads(body)
