"""The AWS SigV4 test suite (shared/vectors/sigv4) run through fnurl's verifier.

Every case must reproduce the suite's canonical request, string to sign and signature, and
`verify` must accept the signed request with the clock frozen at the suite's date. Notes on
the data (see SOURCE.md there):

- `get-vanilla-with-session-token.sreq` carries get-vanilla's signature; the `.authz` file
  holds the right one, so the signed request is rebuilt with the `.authz` value.
- The `.req` files are raw HTTP with a few odd request lines (a raw space, raw UTF-8), a
  folded header and `\\n` line ends, so they are parsed here rather than by an HTTP library.
- `normalize-path/normalize-path.txt` says S3 keeps paths as sent; fnurl signs as every
  other service does, so those cases expect the normalised path of their `.creq`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fnurl import sigv4
from tests.servers import SHARED

SUITE = SHARED / "vectors" / "sigv4"

ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AMZ_DATE = "20150830T123600Z"
NOW = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)
SCOPE = "20150830/us-east-1/service/aws4_request"
EXPECTED_CASES = 34


@dataclass(frozen=True)
class Case:
    name: str
    folder: Path

    def read(self, suffix: str) -> bytes:
        return (self.folder / f"{self.folder.name}{suffix}").read_bytes()

    def text(self, suffix: str) -> str:
        return self.read(suffix).decode("utf-8")


def _cases() -> list[Case]:
    found = sorted(path.parent for path in SUITE.rglob("*.req"))
    return [Case(folder.relative_to(SUITE).as_posix(), folder) for folder in found]


CASES = _cases() if SUITE.is_dir() else []


def parse_http(raw: bytes) -> sigv4.HttpRequest:
    """Parse one raw HTTP/1.1 request as the suite writes it, keeping every byte."""
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    request_line, *header_lines = head.split(b"\n")

    # The target may hold a raw space ("GET /example space/ HTTP/1.1"), so the method is
    # the first word and the protocol the last.
    method, _, rest = request_line.partition(b" ")
    target, _, _protocol = rest.rpartition(b" ")
    raw_path, _, query = target.partition(b"?")

    headers: list[tuple[bytes, bytes]] = []
    for line in header_lines:
        if line[:1] in (b" ", b"\t") and headers:
            # Obsolete line folding: the continuation joins the previous value after a space.
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + line.strip(b" \t"))
            continue
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value))

    return sigv4.HttpRequest(method.decode("ascii"), raw_path, query, headers, body)


def authorization(case: Case) -> tuple[list[str], str]:
    fields = case.text(".authz").strip().split(" ", 1)[1]
    parts = dict(item.strip().split("=", 1) for item in fields.split(","))
    return parts["SignedHeaders"].split(";"), parts["Signature"]


def creq_token(case: Case) -> bytes | None:
    for line in case.read(".creq").split(b"\n"):
        if line.startswith(b"x-amz-security-token:"):
            return line.partition(b":")[2]
    return None


def unsigned_request(case: Case) -> sigv4.HttpRequest:
    """The `.req` request, plus the session token header a signer adds where one is signed."""
    request = parse_http(case.read(".req"))
    token = creq_token(case)
    if token is not None and not any(n == b"x-amz-security-token" for n, _ in request.headers):
        request = replace(request, headers=[*request.headers, (b"x-amz-security-token", token)])
    return request


def signed_request(case: Case) -> sigv4.HttpRequest:
    """The `.sreq` request with its Authorization taken from `.authz` (see the data bug)."""
    request = parse_http(case.read(".sreq"))
    authz = case.read(".authz").strip()
    headers = [
        (name, b" " + authz if name == b"authorization" else value)
        for name, value in request.headers
    ]
    return replace(request, headers=headers)


def test_suite_is_complete() -> None:
    assert len(CASES) == EXPECTED_CASES, f"{SUITE} should hold {EXPECTED_CASES} cases"


def test_known_data_bug_is_still_there() -> None:
    """If the suite is ever fixed, signed_request's .authz override can go."""
    case = Case("get-vanilla-with-session-token", SUITE / "get-vanilla-with-session-token")
    _, signature = authorization(case)
    assert signature.encode() not in case.read(".sreq")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_canonical_request(case: Case) -> None:
    signed, _ = authorization(case)

    canonical = sigv4.canonical_request(unsigned_request(case), signed)

    assert canonical == case.text(".creq")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_string_to_sign_and_signature(case: Case) -> None:
    signed, signature = authorization(case)
    canonical = sigv4.canonical_request(unsigned_request(case), signed)

    sts = sigv4.string_to_sign(AMZ_DATE, SCOPE, canonical)

    assert sts == case.text(".sts")
    assert sigv4.compute_signature(SECRET, "20150830", "us-east-1", "service", sts) == signature


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_verify_accepts_signed_request(case: Case) -> None:
    request = signed_request(case)
    token = dict(request.headers).get(b"x-amz-security-token")
    credential = sigv4.Credential(ACCESS_KEY, SECRET, token.decode() if token else None)

    verified = sigv4.verify(
        request, service="service", region="us-east-1", now=NOW,
        lookup={ACCESS_KEY: credential}.get,
    )

    assert verified.credential is credential
    assert (verified.region, verified.service, verified.signed_at) == ("us-east-1", "service", NOW)
    assert verified.form == "header"
