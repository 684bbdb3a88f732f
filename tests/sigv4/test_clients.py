"""Requests really signed by ten SigV4 client libraries, replayed through `verify`.

The captures (shared/vectors/sigv4-clients) hold three requests per client, each with its
own x-amz-date, so the clock is frozen at that date. Which ones AWS accepts follows from the
canonical form AWS computes (spec 7.5): path normalised and encoded again, query decoded,
re-encoded and sorted. The capture tool's `verdicts-*.txt` name the form each client
signed instead; where that form is not SigV4's, AWS and fnurl refuse the request:

- awscurl 0.44 encodes query escapes a second time (`%20` signs as `%2520`): both GETs
  with escapes in the query (shared/tools/README.md);
- curl 7.88 signs the query unsorted, as sent (`get`), and for `odd` the raw path as well;
- httpx-auth signs the path with the S3 rule, encoded once (`odd`: `b%20c`);
- aws-requests-auth signs the path without normalising it and the query escapes raw
  (`odd`: `a//b`, `y=a/b`);
- botocore, given a URL whose query holds a raw `/`, signs that query as written
  (`odd`: `y=a/b`), whereas AWS signs `y=a%2Fb` (spec 7.5 names this very case). botocore's
  service clients always send `%2F`, so only a hand-built URL meets this.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from fnurl import sigv4
from tests.servers import SHARED

CAPTURES = SHARED / "vectors" / "sigv4-clients"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzEXAMPLE//token+with/slash="
CLIENTS = 10
REQUESTS_PER_CLIENT = 3

# (client, request) -> words the refusal's reason must contain. Everything else is accepted.
REFUSED: dict[tuple[str, str], str] = {
    ("awscurl", "get"): "query escapes percent-encoded twice",
    ("awscurl", "odd"): "secret key is wrong",  # no single known variant explains it
    ("curl", "get"): "query unsorted, as sent",
    ("curl", "odd"): "path exactly as sent (not normalised, not encoded again) and query unsorted",
    ("httpx-auth", "odd"): "path not percent-encoded a second time",
    ("aws-requests-auth", "odd"): "path not normalised and query escapes kept as sent",
    ("botocore", "odd"): "query escapes kept as sent",
}
# The request kinds the capture tool sends, told apart by their path.
KINDS = {"/path/to/fn": "get", "/invoke": "post", "/odd": "odd"}


def _kind(path: str) -> str:
    return next(kind for prefix, kind in KINDS.items() if path.startswith(prefix))


def _records() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for capture in sorted(CAPTURES.glob("capture-*.jsonl")):
        for line in capture.read_text().splitlines():
            found.append((capture.stem, json.loads(line)))
    return found


RECORDS = _records() if CAPTURES.is_dir() else []


def _id(item: tuple[str, dict[str, Any]]) -> str:
    capture, record = item
    return f"{capture.removeprefix('capture-')}-{record['client']}-{_kind(record['path'])}"


def as_request(record: dict[str, Any]) -> sigv4.HttpRequest:
    """ASGI's view of the captured request: lowercased names, raw values, in order."""
    headers = [(name.lower().encode(), value.encode()) for name, value in record["headers"]]
    return sigv4.HttpRequest(
        record["method"], record["path"].encode(), record["query"].encode(), headers,
        base64.b64decode(record["body_b64"]),
    )


def signing_time(request: sigv4.HttpRequest) -> datetime:
    stamp = next(value for name, value in request.headers if name == b"x-amz-date")
    return datetime.strptime(stamp.decode(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def test_captures_are_complete() -> None:
    for capture in ("capture-notoken", "capture-token"):
        clients = {r["client"] for c, r in RECORDS if c == capture}
        count = sum(1 for c, _ in RECORDS if c == capture)
        assert len(clients) == CLIENTS and count == CLIENTS * REQUESTS_PER_CLIENT, capture


def refusals_from_verdicts(text: str) -> set[tuple[str, str]]:
    """Which requests AWS refuses, derived from the capture tool's verdict lines.

    The tool reports the first canonical form that reproduces each signature: "botocore"
    (raw query sorted as sent), "only with path=..., query=...", or FAIL. AWS's form is
    botocore's path with the query decoded and re-encoded, so a request passes when it
    verified with `path=botocore, query=re-encoded`, or as "botocore" with a query that
    re-encoding leaves unchanged.
    """
    refused = set()
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3 or words[1] not in ("OK", "FAIL"):
            continue
        at = next(i for i, word in enumerate(words) if word in ("GET", "POST"))
        how = " ".join(words[2:at])
        path, _, query = words[at + 1].partition("?")
        if words[1] == "FAIL":
            ok = False
        elif how == "botocore":
            pairs = sorted(piece.partition("=")[::2] for piece in query.split("&") if piece)
            raw_sorted = "&".join(f"{n}={v}" for n, v in pairs)
            ok = sigv4.canonical_query(query.encode()) == raw_sorted
        else:
            ok = how == "only with path=botocore, query=re-encoded"
        if not ok:
            refused.add((words[0], _kind(path)))
    return refused


@pytest.mark.parametrize("name", ["verdicts-notoken.txt", "verdicts-token.txt"])
def test_refusals_follow_from_the_verdicts(name: str) -> None:
    assert refusals_from_verdicts((CAPTURES / name).read_text()) == set(REFUSED)


@pytest.mark.parametrize("item", RECORDS, ids=[_id(item) for item in RECORDS])
def test_replayed_capture(item: tuple[str, dict[str, Any]]) -> None:
    capture, record = item
    request = as_request(record)
    token = TOKEN if capture == "capture-token" else None
    credential = sigv4.Credential(ACCESS_KEY, SECRET, token)
    if token is not None:
        sent = next(v for n, v in request.headers if n == b"x-amz-security-token")
        assert sent == TOKEN.encode()

    def run() -> sigv4.VerifiedSignature:
        return sigv4.verify(
            request, service="lambda", region="us-east-1", now=signing_time(request),
            lookup={ACCESS_KEY: credential}.get,
        )

    expected = REFUSED.get((record["client"], _kind(record["path"])))
    if expected is None:
        verified = run()
        assert verified.credential is credential
        assert verified.service == "lambda" and verified.region == "us-east-1"
        return

    with pytest.raises(sigv4.InvalidSignature) as caught:
        run()
    assert caught.value.error_type == "InvalidSignatureException"
    assert caught.value.message.startswith("The request signature we calculated does not match")
    assert expected in caught.value.reason
