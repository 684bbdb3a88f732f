"""The cause a signature mismatch is put down to, one known client mistake at a time.

Each test writes by hand the canonical request a faulty client would sign, signs it with the
HMAC chain written out here (not fnurl's), sends what that client would send, and expects
AWS's mismatch answer with `reason` naming the mistake.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from fnurl import sigv4

KEY, SECRET = "AKIADIAGNOSIS0000001", "diagnosis/secret+key"
TOKEN = "diagnosis-session-token"
AMZ_DATE = "20260115T120000Z"
NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)
SCOPE = "20260115/us-east-1/lambda/aws4_request"
HOST = b"abc.lambda-url.us-east-1.localhost:9000"
EMPTY = hashlib.sha256(b"").hexdigest()
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


def signature(canonical: str, secret: str = SECRET) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    string_to_sign = f"AWS4-HMAC-SHA256\n{AMZ_DATE}\n{SCOPE}\n{digest}"
    key = f"AWS4{secret}".encode()
    for part in SCOPE.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def request(method: str, path: bytes, query: bytes, canonical: str, *,
            headers: list[tuple[bytes, bytes]] | None = None, signed: str = "host;x-amz-date",
            body: bytes = b"") -> sigv4.HttpRequest:
    """The request as sent, with an Authorization header over `canonical`."""
    authorization = (f"AWS4-HMAC-SHA256 Credential={KEY}/{SCOPE}, SignedHeaders={signed}, "
                     f"Signature={signature(canonical)}")
    sent = headers if headers is not None else [(b"host", HOST)]
    sent = [*sent, (b"x-amz-date", AMZ_DATE.encode()), (b"authorization", authorization.encode())]
    return sigv4.HttpRequest(method, path, query, sent, body)


def reason(sent: sigv4.HttpRequest, credential: sigv4.Credential | None = None) -> str:
    with pytest.raises(sigv4.InvalidSignature) as caught:
        sigv4.verify(sent, service="lambda", region="us-east-1", now=NOW,
                     lookup={KEY: credential or sigv4.Credential(KEY, SECRET)}.get)
    assert caught.value.message == MISMATCH
    return caught.value.reason


def canonical(method: str, path: str, query: str, headers: str = "",
              signed: str = "host;x-amz-date", payload: str = EMPTY) -> str:
    lines = headers or f"host:{HOST.decode()}\nx-amz-date:{AMZ_DATE}\n"
    return f"{method}\n{path}\n{query}\n{lines}\n{signed}\n{payload}"


def test_the_right_canonical_request_is_accepted() -> None:
    # The baseline every test below departs from in one way.
    sent = request("GET", b"/a%20b", b"b=2&a=1", canonical("GET", "/a%2520b", "a=1&b=2"))

    sigv4.verify(sent, service="lambda", region="us-east-1", now=NOW,
                 lookup={KEY: sigv4.Credential(KEY, SECRET)}.get)


def test_query_not_sorted() -> None:
    sent = request("GET", b"/", b"b=2&a=1", canonical("GET", "/", "b=2&a=1"))

    assert reason(sent) == (
        "signature mismatch: the client signed the query unsorted, as sent; "
        "SigV4 sorts the query by name, then by value"
    )


def test_query_not_encoded_again() -> None:
    sent = request("GET", b"/", b"path=a/b", canonical("GET", "/", "path=a/b"))

    assert "signed the query escapes kept as sent instead of decoded and re-encoded" in (
        reason(sent)
    )


def test_percent_encoded_twice() -> None:
    sent = request("GET", b"/", b"q=a%20b", canonical("GET", "/", "q=a%2520b"))

    assert "signed the query escapes percent-encoded twice; SigV4 encodes each decoded name " \
        "and value once: %20 stays %20, not %2520" in reason(sent)


def test_path_not_encoded_again() -> None:
    sent = request("GET", b"/a%20b/(1)", b"", canonical("GET", "/a%20b/(1)", ""))

    assert "signed the path not percent-encoded a second time;" in reason(sent)


def test_path_not_normalised() -> None:
    sent = request("GET", b"/a/./b//c", b"", canonical("GET", "/a/./b//c", ""))

    assert "signed the path not normalised; SigV4 removes '.', '..' and empty segments" in (
        reason(sent)
    )


def test_path_exactly_as_sent_and_query_unsorted_together() -> None:
    sent = request("GET", b"/a//b%20c", b"y=2&x=1", canonical("GET", "/a//b%20c", "y=2&x=1"))

    assert reason(sent).startswith(
        "signature mismatch: the client signed the path exactly as sent (not normalised, not "
        "encoded again) and query unsorted, as sent; SigV4 normalises the path, then "
        "percent-encodes it once more; SigV4 sorts the query by name, then by value"
    )


def test_payload_hash_of_an_empty_body() -> None:
    # A signer that never saw the body, or a body changed after signing.
    sent = request("POST", b"/", b"", canonical("POST", "/", ""), body=b'{"a": 1}')

    assert "signed the payload hash of an empty body; the request carries 8 bytes" in (
        reason(sent)
    )


def test_unsigned_payload_in_a_presigned_url() -> None:
    # S3's presigners put UNSIGNED-PAYLOAD where a function URL wants the body's hash.
    query = (f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={KEY}%2F"
             f"{SCOPE.replace('/', '%2F')}&X-Amz-Date={AMZ_DATE}&X-Amz-Expires=300&"
             "X-Amz-SignedHeaders=host")
    signed = canonical("GET", "/", query, f"host:{HOST.decode()}\n", "host", "UNSIGNED-PAYLOAD")
    sent = sigv4.HttpRequest("GET", b"/", f"{query}&X-Amz-Signature={signature(signed)}"
                             .encode(), [(b"host", HOST)], b"")

    assert "signed the payload hash UNSIGNED-PAYLOAD; a function URL needs the SHA-256 of " \
        "the body" in reason(sent)


def test_header_value_with_inner_spaces_not_collapsed() -> None:
    headers = [(b"host", HOST), (b"x-note", b"a   b")]
    lines = f"host:{HOST.decode()}\nx-amz-date:{AMZ_DATE}\nx-note:a   b\n"
    sent = request("GET", b"/", b"", canonical("GET", "/", "", lines, "host;x-amz-date;x-note"),
                   headers=headers, signed="host;x-amz-date;x-note")

    assert "signed the header values with inner runs of spaces kept;" in reason(sent)


def test_header_value_not_trimmed() -> None:
    headers = [(b"host", HOST), (b"x-note", b"  padded ")]
    lines = f"host:{HOST.decode()}\nx-amz-date:{AMZ_DATE}\nx-note:  padded \n"
    sent = request("GET", b"/", b"", canonical("GET", "/", "", lines, "host;x-amz-date;x-note"),
                   headers=headers, signed="host;x-amz-date;x-note")

    assert "signed the header values untrimmed; SigV4 trims each header value" in reason(sent)


def test_only_the_first_value_of_a_repeated_header() -> None:
    # A proxy added a second value after the client signed.
    headers = [(b"host", HOST), (b"x-note", b"one"), (b"x-note", b"two")]
    lines = f"host:{HOST.decode()}\nx-amz-date:{AMZ_DATE}\nx-note:one\n"
    sent = request("GET", b"/", b"", canonical("GET", "/", "", lines, "host;x-amz-date;x-note"),
                   headers=headers, signed="host;x-amz-date;x-note")

    assert "signed the first value only of repeated x-note;" in reason(sent)


def test_host_without_its_port() -> None:
    lines = f"host:{HOST.decode().partition(':')[0]}\nx-amz-date:{AMZ_DATE}\n"
    sent = request("GET", b"/", b"", canonical("GET", "/", "", lines))

    assert reason(sent) == (
        "signature mismatch: the client signed the host without its port; the request arrived "
        f"with Host '{HOST.decode()}'; sign the URL the request is sent to"
    )


def test_signed_header_missing_from_the_request() -> None:
    sent = request("GET", b"/", b"", canonical("GET", "/", ""), signed="host;x-amz-date;x-gone")

    assert reason(sent) == (
        "signature mismatch: signed headers absent from the request: x-gone (SignedHeaders "
        "lists them, but a proxy or the HTTP library dropped them, or the client never sent "
        "them)"
    )


def test_no_known_mistake_names_no_cause_and_logs_no_values() -> None:
    signed = canonical("GET", "/other", "token=secret-value")
    sent = request("GET", b"/x", b"token=secret-value", signed)

    found = reason(sent)

    assert found.startswith("signature mismatch: no known client mistake explains it;")
    assert "or the secret key is wrong" in found
    assert "fnurl signed GET '/x', query names token, SignedHeaders host;x-amz-date" in found
    assert "secret-value" not in found


def test_wrong_secret_is_no_known_mistake() -> None:
    sent = request("GET", b"/", b"b=2&a=1", canonical("GET", "/", "b=2&a=1"))

    found = reason(sent, sigv4.Credential(KEY, "another-secret"))

    assert "no known client mistake" in found


def test_diagnosis_covers_a_session_token_signed_in_the_wrong_form() -> None:
    # The token is one more signed header; the mistake is still found.
    headers = [(b"host", HOST), (b"x-amz-security-token", TOKEN.encode())]
    lines = f"host:{HOST.decode()}\nx-amz-date:{AMZ_DATE}\nx-amz-security-token:{TOKEN}\n"
    signed = "host;x-amz-date;x-amz-security-token"
    sent = request("GET", b"/", b"b=2&a=1", canonical("GET", "/", "b=2&a=1", lines, signed),
                   headers=headers, signed=signed)

    assert "query unsorted, as sent" in reason(sent, sigv4.Credential(KEY, SECRET, TOKEN))
