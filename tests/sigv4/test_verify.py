"""Requests signed in-test by botocore, accepted as signed and refused once changed."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import botocore.auth
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from fnurl import sigv4
from fnurl.sigv4 import (
    Credential,
    HttpRequest,
    IncompleteSignature,
    InvalidSignature,
    MissingAuthentication,
    RequestExpired,
    SigV4Error,
    UnrecognizedClient,
    VerifiedSignature,
)

ACCESS_KEY = "AKIAFNURLVERIFY00001"
SECRET = "fnurl/verify+secret"
TEMP_KEY = "ASIAFNURLVERIFY00002"
TEMP_SECRET = "fnurl/temporary+secret"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//fnurl+token="
HOST = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws"
SIGNED_AT = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)
KEYS = {
    ACCESS_KEY: Credential(ACCESS_KEY, SECRET),
    TEMP_KEY: Credential(TEMP_KEY, TEMP_SECRET, TOKEN),
}
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
BAD_TOKEN = "The security token included in the request is invalid."


@pytest.fixture(autouse=True)
def frozen_signer_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """botocore stamps requests with its own clock; pin it so `now` can be exact."""
    naive = SIGNED_AT.replace(tzinfo=None)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda remove_tzinfo=True: naive)
    yield


def to_http(signed: AWSRequest) -> HttpRequest:
    """What an ASGI server would hand over for the request botocore prepared."""
    prepared = signed.prepare()
    url = urlsplit(prepared.url)
    headers = [(b"host", url.netloc.encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in prepared.headers.items()]
    body = prepared.body or b""
    return HttpRequest(
        prepared.method, url.path.encode(), url.query.encode(), headers,
        body.encode() if isinstance(body, str) else body,
    )


def sign(
    method: str = "GET",
    target: str = "/",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    *,
    temporary: bool = False,
    region: str = "us-east-1",
    service: str = "lambda",
    unsigned_payload: bool = False,
) -> HttpRequest:
    """Sign with botocore's SigV4Auth (Authorization header)."""
    request = AWSRequest(method, f"https://{HOST}{target}", data=body, headers=dict(headers or {}))
    if unsigned_payload:
        request.context["payload_signing_enabled"] = False
    key = KEYS[TEMP_KEY if temporary else ACCESS_KEY]
    credentials = Credentials(key.access_key_id, key.secret_access_key, key.session_token)
    SigV4Auth(credentials, service, region).add_auth(request)
    return to_http(request)


def presign(target: str = "/", *, temporary: bool = False, expires: int = 300) -> HttpRequest:
    """Presign with botocore's SigV4QueryAuth (X-Amz-* query parameters)."""
    request = AWSRequest("GET", f"https://{HOST}{target}")
    key = KEYS[TEMP_KEY if temporary else ACCESS_KEY]
    credentials = Credentials(key.access_key_id, key.secret_access_key, key.session_token)
    SigV4QueryAuth(credentials, "lambda", "us-east-1", expires=expires).add_auth(request)
    return to_http(request)


def check(request: HttpRequest, *, now: datetime = SIGNED_AT, region: str | None = "us-east-1",
          lookup: Mapping[str, Credential] = KEYS) -> VerifiedSignature:
    return sigv4.verify(request, service="lambda", region=region, now=now, lookup=lookup.get)


def refused(request: HttpRequest, error: type[SigV4Error], message: str, *,
            now: datetime = SIGNED_AT, region: str | None = "us-east-1") -> SigV4Error:
    with pytest.raises(error) as caught:
        check(request, now=now, region=region)

    exc = caught.value
    assert type(exc) is error
    assert exc.status == 403
    assert exc.message == message
    assert exc.body() == {"message": message}
    assert SECRET not in exc.reason and TEMP_SECRET not in exc.reason
    return exc


def with_header(request: HttpRequest, name: bytes, value: bytes | None) -> HttpRequest:
    """Replace (or drop, with None) every `name` header, adding it if absent."""
    kept = [(n, v) for n, v in request.headers if n != name]
    if value is not None:
        kept.append((name, value))
    return replace(request, headers=kept)


def header(request: HttpRequest, name: bytes) -> bytes:
    return next(v for n, v in request.headers if n == name)


# ---------------------------------------------------------------- accepted


def test_signed_get_with_query_is_accepted() -> None:
    request = sign("GET", "/path/to/fn?b=2&a=1&c=x%20y")

    verified = check(request)

    assert verified == VerifiedSignature(
        KEYS[ACCESS_KEY], ACCESS_KEY, "us-east-1", "lambda", SIGNED_AT, "header"
    )


def test_signed_post_with_json_body_is_accepted() -> None:
    body = json.dumps({"hello": "world", "n": 1}).encode()

    verified = check(sign("POST", "/invoke?mode=sync", body, {"content-type": "application/json"}))

    assert verified.form == "header"


def test_temporary_credential_with_its_token_is_accepted() -> None:
    request = sign("POST", "/", b"{}", temporary=True)

    verified = check(request)

    assert header(request, b"x-amz-security-token") == TOKEN.encode()
    assert verified.credential.session_token == TOKEN
    assert verified.access_key_id == TEMP_KEY


def test_reserved_characters_in_path_and_query_are_accepted() -> None:
    request = sign("GET", "/report(1)/a%20b/./c//d?q=%2Fetc%2Fx&e=&z=%C3%A9&p=1%2B1")

    check(request)


def test_a_raw_plus_is_a_space_as_in_the_event() -> None:
    # aws4fetch and other URLSearchParams users send `+` for a space and sign `%20`.
    signed_with_space = sign("GET", "/?q=a%20b")
    sent_with_plus = replace(signed_with_space, query_string=b"q=a+b")

    check(sent_with_plus)
    refused(replace(signed_with_space, query_string=b"q=a%2Bb"), InvalidSignature, MISMATCH)


def test_date_header_instead_of_x_amz_date_is_accepted() -> None:
    request = sign("GET", "/", headers={"Date": "placeholder"})

    verified = check(request)

    assert not any(name == b"x-amz-date" for name, _ in request.headers)
    assert verified.signed_at == SIGNED_AT


def test_repeated_and_spaced_signed_headers_are_accepted() -> None:
    request = sign("GET", "/", headers={"x-custom": "  a   b  "})
    # botocore signs one value; send the same value with other spacing, as a proxy might.
    request = with_header(request, b"x-custom", b"a \t b")

    check(request)


def test_any_region_is_accepted_when_region_is_none() -> None:
    request = sign("GET", "/2021-10-31/functions/fn/url", region="eu-west-3")

    verified = check(request, region=None)

    assert verified.region == "eu-west-3"


def test_presigned_get_is_accepted() -> None:
    request = presign("/path?a=1")

    verified = check(request, now=SIGNED_AT + timedelta(seconds=299))

    assert verified.form == "query"
    assert b"X-Amz-Signature=" in request.query_string


def test_presigned_with_token_is_accepted() -> None:
    request = presign("/", temporary=True)

    verified = check(request)

    assert b"X-Amz-Security-Token=" in request.query_string
    assert verified.credential.session_token == TOKEN


def test_clock_skew_of_exactly_the_limit_is_accepted() -> None:
    request = sign()

    check(request, now=SIGNED_AT + timedelta(minutes=5))
    check(request, now=SIGNED_AT - timedelta(minutes=5))


def test_naive_now_is_taken_as_utc() -> None:
    check(sign(), now=SIGNED_AT.replace(tzinfo=None))


# ---------------------------------------------------------------- signature mismatch


def test_changed_body_is_refused() -> None:
    request = sign("POST", "/", b'{"amount": 1}', {"content-type": "application/json"})

    exc = refused(replace(request, body=b'{"amount": 9}'), InvalidSignature, MISMATCH)

    assert exc.error_type == "InvalidSignatureException"
    assert exc.reason.startswith("signature mismatch")


def test_changed_query_is_refused() -> None:
    request = sign("GET", "/items?limit=10")

    refused(replace(request, query_string=b"limit=1000"), InvalidSignature, MISMATCH)


def test_changed_path_is_refused() -> None:
    request = sign("GET", "/items/1")

    refused(replace(request, raw_path=b"/items/2"), InvalidSignature, MISMATCH)


def test_changed_method_is_refused() -> None:
    request = sign("GET", "/items/1")

    refused(replace(request, method="DELETE"), InvalidSignature, MISMATCH)


def test_wrong_secret_is_refused() -> None:
    request = sign()
    wrong = {ACCESS_KEY: Credential(ACCESS_KEY, "another-secret")}

    with pytest.raises(InvalidSignature) as caught:
        check(request, lookup=wrong)

    assert caught.value.message == MISMATCH


def test_unsigned_payload_is_refused() -> None:
    request = sign("POST", "/", b"payload", unsigned_payload=True)

    exc = refused(request, InvalidSignature, MISMATCH)

    assert header(request, b"x-amz-content-sha256") == b"UNSIGNED-PAYLOAD"
    assert "UNSIGNED-PAYLOAD" in exc.reason


def test_declared_content_sha256_that_differs_from_body_is_refused() -> None:
    declared = "0" * 64
    request = sign("POST", "/", b"payload", {"X-Amz-Content-SHA256": declared})

    exc = refused(request, InvalidSignature, MISMATCH)

    assert exc.reason == (
        "signature mismatch: payload hash of received body differs from declared "
        "x-amz-content-sha256 (the 7-byte body changed after signing, or the client hashed "
        "other bytes)"
    )


def test_signed_header_missing_from_request_is_refused() -> None:
    request = sign("GET", "/", headers={"x-custom": "1"})

    exc = refused(with_header(request, b"x-custom", None), InvalidSignature, MISMATCH)

    assert "x-custom" in exc.reason


def test_query_tampering_reason_names_no_variant() -> None:
    request = replace(sign("GET", "/?a=1"), query_string=b"a=2")

    exc = refused(request, InvalidSignature, MISMATCH)

    assert "secret key is wrong" in exc.reason


# ---------------------------------------------------------------- scope


def test_wrong_region_is_refused() -> None:
    request = sign(region="us-west-2")

    exc = refused(request, InvalidSignature, "Credential should be scoped to a valid region. ")

    assert "us-west-2" in exc.reason


def test_wrong_service_is_refused() -> None:
    request = sign(service="execute-api")

    refused(request, InvalidSignature,
            "Credential should be scoped to correct service: 'lambda'. ")


def test_wrong_region_and_service_are_both_named() -> None:
    request = sign(region="us-west-2", service="sts")

    refused(request, InvalidSignature,
            "Credential should be scoped to a valid region. "
            "Credential should be scoped to correct service: 'lambda'. ")


def test_scope_date_other_than_request_date_is_refused() -> None:
    request = sign()
    authz = header(request, b"authorization").replace(b"/20260115/", b"/20260114/")

    refused(with_header(request, b"authorization", authz), InvalidSignature,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            "from HTTP: '20260114' != '20260115', from '20260115T120000Z'.")


# ---------------------------------------------------------------- access key and token


def test_unknown_access_key_is_refused() -> None:
    request = sign()

    with pytest.raises(UnrecognizedClient) as caught:
        check(request, lookup={})

    assert caught.value.error_type == "UnrecognizedClientException"
    assert caught.value.message == BAD_TOKEN
    assert ACCESS_KEY in caught.value.reason


def test_temporary_key_without_token_is_refused() -> None:
    request = sign(temporary=True)

    exc = refused(with_header(request, b"x-amz-security-token", None), InvalidSignature,
                  MISMATCH)

    # The token was signed, so dropping it breaks the signature first; an unsigned token is
    # checked on its own.
    assert "x-amz-security-token" in exc.reason


def test_temporary_key_signed_without_token_is_refused() -> None:
    temp = KEYS[TEMP_KEY]
    request = AWSRequest("GET", f"https://{HOST}/")
    SigV4Auth(Credentials(TEMP_KEY, temp.secret_access_key), "lambda", "us-east-1").add_auth(
        request
    )

    exc = refused(to_http(request), UnrecognizedClient, BAD_TOKEN)

    assert "without X-Amz-Security-Token" in exc.reason


def test_wrong_token_is_refused() -> None:
    wrong = {TEMP_KEY: Credential(TEMP_KEY, TEMP_SECRET, "a-different-token")}
    request = sign(temporary=True)

    with pytest.raises(UnrecognizedClient) as caught:
        check(request, lookup=wrong)

    assert caught.value.message == BAD_TOKEN
    assert TOKEN not in caught.value.reason


def test_token_with_long_term_key_is_refused() -> None:
    request = with_header(sign(), b"x-amz-security-token", b"stray-token")

    refused(request, UnrecognizedClient, BAD_TOKEN)


# ---------------------------------------------------------------- time


def test_signature_older_than_skew_is_refused() -> None:
    request = sign()

    refused(request, InvalidSignature,
            "Signature expired: 20260115T120000Z is now earlier than 20260115T120100Z "
            "(20260115T120600Z - 5 min.)",
            now=SIGNED_AT + timedelta(minutes=6))


def test_signature_from_the_future_is_refused() -> None:
    request = sign()

    refused(request, InvalidSignature,
            "Signature not yet current: 20260115T120000Z is still later than 20260115T115900Z "
            "(20260115T115400Z + 5 min.)",
            now=SIGNED_AT - timedelta(minutes=6))


def test_presigned_url_past_expiry_is_refused() -> None:
    request = presign(expires=60)

    exc = refused(request, RequestExpired, "Request has expired",
                  now=SIGNED_AT + timedelta(seconds=61))

    assert exc.error_type == "AccessDeniedException"


def test_presigned_url_from_the_future_is_refused() -> None:
    request = presign()

    with pytest.raises(InvalidSignature) as caught:
        check(request, now=SIGNED_AT - timedelta(minutes=6))

    assert caught.value.message.startswith("Signature not yet current: 20260115T120000Z")


def test_presigned_expiry_over_a_week_is_refused() -> None:
    request = presign(expires=604801)

    refused(request, IncompleteSignature,
            "X-Amz-Expires must be less than a week (in seconds) that is 604800")


def test_presigned_expiry_that_is_not_a_number_is_refused() -> None:
    request = presign()
    query = request.query_string.replace(b"X-Amz-Expires=300", b"X-Amz-Expires=soon")

    refused(replace(request, query_string=query), IncompleteSignature,
            "X-Amz-Expires should be a number")


# ---------------------------------------------------------------- presigned form


def test_presigned_request_with_body_is_refused() -> None:
    request = replace(presign(), method="POST", body=b'{"a": 1}')

    exc = refused(request, InvalidSignature, MISMATCH)

    assert "presigned" in exc.reason and "body" in exc.reason


def test_presigned_query_missing_parameters_is_refused() -> None:
    request = replace(presign(), query_string=b"X-Amz-Signature=abc&X-Amz-Date=20260115T120000Z")

    refused(request, IncompleteSignature,
            "AWS query-string parameters must include 'X-Amz-Algorithm'. "
            "AWS query-string parameters must include 'X-Amz-Credential'. "
            "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
            "Re-examine the query-string parameters.")


def test_presigned_query_tampering_is_refused() -> None:
    request = presign("/?a=1")

    refused(replace(request, query_string=request.query_string.replace(b"a=1", b"a=2")),
            InvalidSignature, MISMATCH)


# ---------------------------------------------------------------- malformed Authorization


def test_missing_host_in_signed_headers_is_refused() -> None:
    request = sign()
    authz = header(request, b"authorization").replace(b"SignedHeaders=host;", b"SignedHeaders=")

    exc = refused(with_header(request, b"authorization", authz), InvalidSignature,
                  "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")

    assert exc.reason == "SignedHeaders lacks host"


def test_authorization_without_credential_and_signature_is_incomplete() -> None:
    authz = "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date"
    request = with_header(sign(), b"authorization", authz.encode())

    exc = refused(request, IncompleteSignature,
                  "Authorization header requires 'Credential' parameter. "
                  "Authorization header requires 'Signature' parameter. "
                  f"Authorization={authz}")

    assert exc.error_type == "IncompleteSignatureException"


def test_authorization_without_any_date_is_incomplete() -> None:
    request = with_header(sign(), b"x-amz-date", None)
    authz = header(request, b"authorization").decode()

    refused(request, IncompleteSignature,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
            f"header. Authorization={authz}")


def test_bearer_token_is_incomplete() -> None:
    request = with_header(sign(), b"authorization", b"Bearer eyJhbGciOi.e30.sig")

    exc = refused(request, IncompleteSignature,
                  "'eyJhbGciOi.e30.sig' not a valid key=value pair (missing equal-sign) in "
                  "Authorization header: 'Bearer eyJhbGciOi.e30.sig'.")

    assert "eyJ" not in exc.reason


def test_unsupported_algorithm_is_incomplete() -> None:
    request = sign()
    authz = header(request, b"authorization").replace(b"AWS4-HMAC-SHA256", b"AWS4-HMAC-SHA512")

    refused(with_header(request, b"authorization", authz), IncompleteSignature,
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). ")


def test_credential_without_five_parts_is_incomplete() -> None:
    request = sign()
    authz = header(request, b"authorization").replace(b"/aws4_request", b"")
    credential = f"{ACCESS_KEY}/20260115/us-east-1/lambda"

    refused(with_header(request, b"authorization", authz), IncompleteSignature,
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'")


def test_malformed_x_amz_date_is_incomplete() -> None:
    request = with_header(sign(), b"x-amz-date", b"2026-01-15T12:00:00Z")

    refused(request, IncompleteSignature,
            "Date must be in ISO-8601 'basic format'. Got '2026-01-15T12:00:00Z'. "
            "See http://en.wikipedia.org/wiki/ISO_8601")


# ---------------------------------------------------------------- no SigV4


def test_unsigned_request_is_missing_authentication() -> None:
    request = HttpRequest("GET", b"/", b"a=1", [(b"host", HOST.encode())], b"")

    with pytest.raises(MissingAuthentication) as caught:
        check(request)

    assert not sigv4.is_signed(request)
    assert caught.value.status == 403
    assert caught.value.error_type == "AccessDeniedException"


def test_is_signed_sees_both_forms() -> None:
    assert sigv4.is_signed(sign())
    assert sigv4.is_signed(presign())
    assert sigv4.is_signed(HttpRequest("GET", b"/", b"X%2DAmz-Credential=x", [], b""))
    assert not sigv4.is_signed(HttpRequest("GET", b"/", b"X-Amz-Date=1&x=%20", [], b""))


# ---------------------------------------------------------------- canonical pieces


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "/"),
        (b"/", "/"),
        (b"/a%20b", "/a%2520b"),
        (b"/report(1)", "/report%281%29"),
        (b"//a//b/", "/a/b/"),
        (b"/a/./b/../c", "/a/c"),
        (b"/a/..", "/"),
        (b"/../..", "/"),
        (b"/a/.", "/a"),
        (b"/~user/x-y_z.txt", "/~user/x-y_z.txt"),
        ("/\u00e9".encode(), "/%C3%A9"),
    ],
)
def test_canonical_path(raw: bytes, expected: str) -> None:
    assert sigv4.canonical_path(raw) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", ""),
        (b"b=2&a=1", "a=1&b=2"),
        (b"a=2&a=10&a=1", "a=1&a=10&a=2"),
        (b"y=a/b&x=hello%20world", "x=hello%20world&y=a%2Fb"),
        (b"flag&e=", "e=&flag="),
        (b"p=1+1&q=%2a&r=1%2B1", "p=1%201&q=%2A&r=1%2B1"),
        (b"a=1&&b=2", "a=1&b=2"),
        ("k=\u00e9".encode(), "k=%C3%A9"),
    ],
)
def test_canonical_query(query: bytes, expected: str) -> None:
    assert sigv4.canonical_query(query) == expected


def test_canonical_query_drops_only_the_presigned_signature() -> None:
    query = b"X-Amz-Signature=abc&X-Amz-Date=1&a=1"

    assert sigv4.canonical_query(query, presigned=True) == "X-Amz-Date=1&a=1"
    assert sigv4.canonical_query(query) == "X-Amz-Date=1&X-Amz-Signature=abc&a=1"


def test_canonical_request_rejects_absent_signed_header() -> None:
    request = HttpRequest("GET", b"/", b"", [(b"host", b"h")], b"")

    with pytest.raises(ValueError, match="x-amz-date"):
        sigv4.canonical_request(request, ["host", "x-amz-date"])
