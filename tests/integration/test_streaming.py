"""RESPONSE_STREAM (spec section 6): streaming handlers and the mixed combinations."""

from __future__ import annotations

import concurrent.futures
import json
from pathlib import Path

import httpx
import pytest

from tests.integration.support import log_lines, url_of, wait_until
from tests.servers import Server


def get(server: Server, function: str, query: str,
        headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(url_of(server, function, f"/?{query}"), headers=headers, timeout=30)


def test_chunks_reach_the_client_while_the_handler_runs(
    project_server: Server, tmp_path: Path
) -> None:
    flag = tmp_path / "flag"
    url = url_of(project_server, "stream", f"/?kind=handshake&flag={flag}")

    with httpx.stream("GET", url, timeout=30) as response:
        assert response.status_code == 201
        assert response.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.headers
        assert response.headers["content-type"] == "text/plain"
        assert response.headers["x-stream"] == "yes"
        assert response.headers.get_list("set-cookie") == ["s=1; Path=/"]
        assert response.headers["x-amzn-requestid"]
        chunks = response.iter_raw()
        # The handler is blocked until the flag exists, so this chunk came on its own.
        assert next(chunks) == b"first\n"
        flag.touch()
        rest = b"".join(chunks)

    assert rest == b"second\nthird\n"


def test_without_a_prelude_the_bytes_go_out_as_octet_stream(project_server: Server) -> None:
    response = get(project_server, "stream", "kind=bytes")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == b"\x00\x01text"


@pytest.mark.parametrize(("kind", "body"), [("iter", b'{"n": 1}\n'), ("file", b'"""Streaming')])
def test_any_iterator_streams(project_server: Server, kind: str, body: bytes) -> None:
    response = get(project_server, "stream", f"kind={kind}")

    assert response.status_code == 200
    assert response.content.startswith(body)


def test_an_error_after_the_first_bytes_ends_the_stream(project_server: Server) -> None:
    response = get(project_server, "stream", "kind=break")

    assert response.status_code == 200
    assert response.content == b"partial\n"
    lines = "\n".join(log_lines(project_server, response.headers["x-amzn-requestid"]))
    assert "RuntimeError: broke after the first bytes" in lines
    assert get(project_server, "stream", "kind=bytes").content == b"\x00\x01text"


def test_a_chunk_that_is_not_bytes_or_str_ends_the_stream(project_server: Server) -> None:
    response = get(project_server, "stream", "kind=bad-chunk")

    assert response.status_code == 200
    assert response.content == b"fine\n"


def test_an_error_before_any_bytes_is_a_200_error_document(project_server: Server) -> None:
    response = get(project_server, "stream", "kind=raise-first")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["errorType"] == "ValueError"
    assert document["errorMessage"] == "broke before any bytes"
    assert document["requestId"] == response.headers["x-amzn-requestid"]
    assert isinstance(document["stackTrace"], list)


def test_an_ordinary_handler_sends_its_whole_payload_as_the_body(project_server: Server) -> None:
    response = get(project_server, "stream", "kind=ordinary")

    assert response.status_code == 202
    assert response.headers["x-mode"] == "plain"
    assert response.headers.get_list("set-cookie") == ["o=1"]
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.json() == {"statusCode": 202, "headers": {"X-Mode": "plain"},
                               "cookies": ["o=1"], "body": "accepted\n"}


def test_an_ordinary_string_reply_keeps_its_quotes(project_server: Server) -> None:
    response = get(project_server, "stream", "kind=string")

    assert response.status_code == 200
    assert response.content == b'"hello"'


def test_an_ordinary_handler_that_raises_gets_a_200_error_document(
    project_server: Server,
) -> None:
    response = get(project_server, "stream", "kind=raise")

    assert response.status_code == 200
    assert response.json()["errorType"] == "ValueError"
    assert response.json()["errorMessage"] == "an ordinary handler failed"


def test_an_invalid_prelude_is_a_502(project_server: Server) -> None:
    response = get(project_server, "stream", "kind=bad-prelude")

    assert response.status_code == 502
    assert response.content == b"Internal Server Error"


def test_a_timeout_mid_stream_ends_it_and_the_next_call_works(project_server: Server) -> None:
    response = get(project_server, "stream-short", "kind=stall")

    assert response.status_code == 200
    assert response.content == b"tick\n"
    lines = "\n".join(log_lines(project_server, response.headers["x-amzn-requestid"]))
    assert "Task timed out after 1.00 seconds" in lines
    assert get(project_server, "stream-short", "kind=bytes").content == b"\x00\x01text"


def test_a_stream_may_exceed_the_buffered_limit(project_server: Server) -> None:
    response = get(project_server, "stream", "kind=big")

    assert response.status_code == 200
    assert len(response.content) == 8 * 1024 * 1024


def test_head_gets_the_head_only(project_server: Server) -> None:
    response = httpx.head(url_of(project_server, "stream", "/?kind=bytes"), timeout=30)

    assert response.status_code == 200
    assert response.content == b""


def test_the_invocation_runs_on_after_the_client_leaves(
    project_server: Server, tmp_path: Path
) -> None:
    flag, done = tmp_path / "flag", tmp_path / "done"
    url = url_of(project_server, "stream", f"/?kind=handshake&flag={flag}&done={done}")

    with httpx.stream("GET", url, timeout=30) as response:
        assert next(response.iter_raw()) == b"first\n"
    flag.touch()

    assert wait_until(done.exists), "the handler stopped when the client left"
    assert get(project_server, "stream", "kind=bytes").content == b"\x00\x01text"


def test_streams_get_the_urls_cors_headers(project_server: Server) -> None:
    response = get(project_server, "stream", "kind=bytes",
                   headers={"Origin": "https://app.example"})

    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert response.headers["access-control-expose-headers"] == "x-owned"


def test_streams_run_side_by_side(project_server: Server, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    url = url_of(project_server, "stream", f"/?kind=handshake&flag={flag}")
    with (concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool,
          httpx.stream("GET", url, timeout=30) as first):
        chunks = first.iter_raw()
        assert next(chunks) == b"first\n"
        # A second stream starts while the first is still open.
        other = pool.submit(get, project_server, "stream", "kind=bytes")
        assert other.result().content == b"\x00\x01text"
        flag.touch()
        assert b"".join(chunks) == b"second\nthird\n"


class TestStreamingHandlerBehindBuffered:
    """A streaming handler on a BUFFERED URL, as AWS treats a Node one."""

    def test_raw_bytes_are_sent_whole(self, project_server: Server) -> None:
        response = get(project_server, "stream-buffered", "kind=bytes")

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-length"] == "6"
        assert response.content == b"\x00\x01text"

    def test_a_prelude_sets_the_head_and_the_body_is_lost(self, project_server: Server) -> None:
        response = get(project_server, "stream-buffered", "kind=prelude")

        assert response.status_code == 203
        assert response.headers["x-prelude"] == "yes"
        assert response.headers.get_list("set-cookie") == ["p=1"]
        assert response.content == b""

    def test_an_error_before_any_bytes_is_an_empty_200(self, project_server: Server) -> None:
        response = get(project_server, "stream-buffered", "kind=raise-first")

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.content == b""

    def test_over_six_megabytes_is_a_502(self, project_server: Server) -> None:
        response = get(project_server, "stream-buffered", "kind=big")

        assert response.status_code == 502


def test_stream_events_are_payload_2_0(project_server: Server) -> None:
    # The same event as BUFFERED: the mode changes only the reply.
    response = get(project_server, "stream", "kind=iter")
    assert json.loads(response.content.splitlines()[0]) == {"n": 1}
