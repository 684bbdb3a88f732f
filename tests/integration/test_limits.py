"""Payload limits: requests over 6 MB are refused without being read whole (413)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx

from tests.integration.support import log_lines, url_of
from tests.servers import Server

SIX_MB = 6 * 1024 * 1024


def raw_request(server: Server, head: str, body_parts: Iterator[bytes]) -> bytes:
    """Send a request by hand, stop writing if the server has answered, return the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(head.encode())
        try:
            for part in body_parts:
                sock.sendall(part)
        except OSError:
            pass    # the server answered and closed: what it said is still to be read
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        return answer


def path_of(server: Server, function: str) -> str:
    return url_of(server, function).removeprefix(server.base)


def test_a_declared_length_over_6_mb_is_refused_before_the_body(project_server: Server) -> None:
    head = (f"POST {path_of(project_server, 'echo')} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{project_server.port}\r\n"
            "Content-Type: application/octet-stream\r\n"
            f"Content-Length: {100 * 1024 * 1024}\r\n\r\n")

    # 64 KB of the 100 MB announced: the answer must come without the rest.
    answer = raw_request(project_server, head, iter([b"\x00" * 65536]))

    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"RequestTooLargeException" in answer


def test_a_chunked_body_is_cut_off_past_6_mb(project_server: Server) -> None:
    head = (f"POST {path_of(project_server, 'echo')} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{project_server.port}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"\x00" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"

    # A little over 6 MB and never the final chunk: only a reader that stops early answers.
    answer = raw_request(project_server, head, iter([framed] * (SIX_MB // len(chunk) + 2)))

    assert answer.startswith(b"HTTP/1.1 413 ")


def test_clients_get_the_413_and_the_handler_never_runs(project_server: Server) -> None:
    response = httpx.post(url_of(project_server, "echo"), content=b"a" * (SIX_MB + 1),
                          headers={"Content-Type": "text/plain"}, timeout=60)

    assert response.status_code == 413
    assert response.json() == {
        "Type": "User",
        "message": "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
    }
    request_id = response.headers["x-amzn-requestid"]
    assert not any("START" in line for line in log_lines(project_server, request_id))
    assert httpx.get(url_of(project_server, "echo"), timeout=30).status_code == 200


def test_a_streamed_upload_over_6_mb_is_refused(project_server: Server) -> None:
    def body() -> Iterator[bytes]:
        for _ in range(SIX_MB // 65536 + 2):
            yield b"b" * 65536

    response = httpx.post(url_of(project_server, "echo"), content=body(), timeout=60)

    assert response.status_code == 413


def test_exactly_6_mb_of_text_fits_the_request_but_not_the_event(
    project_server: Server,
) -> None:
    # The body passes the request limit; the event around it is over 6 MB (spec: the limit
    # is on the invocation payload).
    response = httpx.post(url_of(project_server, "echo"), content=b"a" * SIX_MB,
                          headers={"Content-Type": "text/plain"}, timeout=60)

    assert response.status_code == 413


def test_a_body_just_under_the_limit_reaches_the_handler(project_server: Server) -> None:
    response = httpx.post(url_of(project_server, "echo"), content=b"a" * (5 * 1024 * 1024),
                          headers={"Content-Type": "text/plain"}, timeout=60)

    assert response.status_code == 200
    assert len(response.json()["event"]["body"]) == 5 * 1024 * 1024
