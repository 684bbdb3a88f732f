"""How a handler's reply becomes the HTTP response (spec section 3)."""

from __future__ import annotations

import httpx
import pytest

from tests.servers import Server


def call(server: Server, kind: str, method: str = "GET") -> httpx.Response:
    urls = httpx.get(f"{server.base}/_fnurl/health", timeout=10).json()["urls"]
    return httpx.request(method, server.path_url(urls["reply"]["url_id"], f"/?kind={kind}"),
                         timeout=30)


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("string", b"hello"),
        ("object", b'{"hello":"world"}'),
        ("list", b'["hello",3,true]'),
        ("number", b"42"),
        ("float", b"3.1"),
        ("true", b"true"),
        ("null", b"null"),
    ],
)
def test_inferred_replies(project_server: Server, kind: str, body: bytes) -> None:
    response = call(project_server, kind)

    assert response.status_code == 200
    assert response.content == body
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(body))


def test_proxy_reply(project_server: Server) -> None:
    response = call(project_server, "proxy")

    assert response.status_code == 201
    assert response.content == b"created"
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["x-custom"] == "yes"
    assert response.headers["x-number"] == "3"
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
    assert response.headers["x-amzn-requestid"]


def test_set_cookie_header_comes_before_cookies(project_server: Server) -> None:
    response = call(project_server, "set-cookie-header")

    assert response.headers.get_list("set-cookie") == ["header=c", "a=1; Path=/"]


@pytest.mark.parametrize(
    ("kind", "status", "body", "content_type"),
    [
        ("status-string", 418, b"teapot", "application/json"),
        ("no-content-type", 200, b"plain", "application/json"),
        ("no-body", 204, b"", "application/json"),
        ("base64", 200, b"\x00\x01binary\xff", "application/octet-stream"),
        ("lenient-base64", 200, b"hello", "application/json"),
        ("object-body", 200, b'{"not":"string"}', "application/json"),
    ],
)
def test_proxy_variants(project_server: Server, kind: str, status: int, body: bytes,
                        content_type: str) -> None:
    response = call(project_server, kind)

    assert response.status_code == status
    assert response.content == body
    assert response.headers["content-type"] == content_type


@pytest.mark.parametrize(
    "kind",
    ["raise", "unserialisable", "bad-status", "status-100", "inject-header", "bad-header-name",
     "empty-header-name", "huge"],
)
def test_failures_are_502(project_server: Server, kind: str) -> None:
    response = call(project_server, kind)

    assert response.status_code == 502
    assert response.content == b"Internal Server Error"
    assert response.headers["content-type"] == "application/json"
    assert "x-amzn-errortype" not in response.headers


def test_exception_traceback_is_logged(project_server: Server) -> None:
    call(project_server, "raise")

    log = project_server.log()
    assert "[ERROR] ValueError: handler failed on purpose" in log
    assert "Traceback" in log
    assert 'app.py", line 80, in reply' in log
    # As Lambda's log: the handler's frames, not the runtime's own.
    assert "worker.py" not in log


def test_timeout_is_502_and_next_call_works(project_server: Server) -> None:
    response = call(project_server, "sleep")
    assert response.status_code == 502
    assert "Task timed out after 2.00 seconds" in project_server.log()

    assert call(project_server, "string").content == b"hello"


def test_head_has_headers_but_no_body(project_server: Server) -> None:
    response = call(project_server, "proxy", method="HEAD")

    assert response.status_code == 201
    assert response.content == b""
    assert response.headers["x-custom"] == "yes"


def test_204_is_sent_without_a_body(project_server: Server) -> None:
    response = call(project_server, "status-204-body")

    assert response.status_code == 204
    assert response.content == b""
    assert "content-length" not in response.headers


def test_oversized_reply_is_logged(project_server: Server) -> None:
    call(project_server, "huge")

    assert "Exceeded maximum allowed payload size (6291556 bytes)" in project_server.log()


@pytest.mark.parametrize("kind", ["string", "raise"])
def test_responses_keep_the_connection_alive(project_server: Server, kind: str) -> None:
    # A 502 is an invocation's reply too: it carries the same headers as a 200.
    response = call(project_server, kind)

    assert response.headers["connection"] == "keep-alive"
    assert response.headers.get_list("x-amzn-trace-id")[0].startswith("Root=1-")
    assert len(response.headers.get_list("x-amzn-trace-id")) == 1
    assert len(response.headers.get_list("x-amzn-requestid")) == 1
