"""CORS through a real server, as spec section 5 describes AWS's URLs."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.support import log_lines, url_of, validated
from tests.servers import Server

APP = "https://app.example"
CORS_NAMES = ("access-control-allow-origin", "access-control-allow-headers",
              "access-control-allow-methods", "access-control-max-age",
              "access-control-allow-credentials", "access-control-expose-headers", "vary")


def preflight(server: Server, function: str, origin: str = APP, method: str = "POST",
              headers: str | None = "Content-Type, X-Custom") -> httpx.Response:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        request_headers["Access-Control-Request-Headers"] = headers
    return httpx.options(url_of(server, function, "/any"), headers=request_headers, timeout=30)


def cors_headers(response: httpx.Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k in CORS_NAMES]


def test_an_allowed_preflight_is_answered_by_the_url(project_server: Server) -> None:
    response = preflight(project_server, "cors")

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "application/json"
    assert cors_headers(response) == [
        ("access-control-allow-origin", APP),
        ("access-control-allow-headers", "content-type,x-custom"),
        ("vary", "Origin"),
        ("access-control-allow-methods", "GET,POST"),
        ("access-control-max-age", "600"),
    ]
    # The function never ran.
    request_id = response.headers["x-amzn-requestid"]
    assert not any("START" in line for line in log_lines(project_server, request_id))


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("https://evil.example", "POST", "content-type"),
        (APP, "DELETE", None),
        (APP, "GET", "content-type, x-unlisted"),
    ],
)
def test_a_rejected_preflight_is_a_200_without_cors_headers(
    project_server: Server, origin: str, method: str, headers: str | None
) -> None:
    response = preflight(project_server, "cors", origin, method, headers)

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "application/json"
    assert cors_headers(response) == []


def test_preflights_come_before_auth(project_server: Server) -> None:
    # An unsigned OPTIONS to an AWS_IAM URL: browsers never sign preflights.
    response = preflight(project_server, "cors-iam", method="PUT", headers=None)

    assert response.status_code == 200
    assert response.headers["access-control-allow-methods"] == "PUT"
    assert "access-control-allow-headers" not in response.headers   # none configured

    unsigned = httpx.put(url_of(project_server, "cors-iam"), headers={"Origin": APP},
                         timeout=30)
    assert unsigned.status_code == 403


def test_star_echoes_the_origin_and_what_was_asked(project_server: Server) -> None:
    response = preflight(project_server, "cors-star", "https://any.example", "PATCH",
                         "X-One, x-two")

    assert cors_headers(response) == [
        ("access-control-allow-origin", "https://any.example"),
        ("access-control-allow-headers", "x-one,x-two"),
        ("vary", "Origin"),
        ("access-control-allow-methods", "PATCH"),
        ("access-control-max-age", "0"),
        ("access-control-allow-credentials", "true"),
    ]


def test_options_without_the_request_method_goes_to_the_function(
    project_server: Server,
) -> None:
    response = httpx.options(url_of(project_server, "cors", "/x"), headers={"Origin": APP},
                             timeout=30)

    assert response.status_code == 200
    event = validated(response.json()["event"])
    assert event["requestContext"]["http"]["method"] == "OPTIONS"
    assert response.headers["access-control-allow-origin"] == APP


def test_ordinary_responses_get_origin_vary_and_expose(project_server: Server) -> None:
    response = httpx.get(url_of(project_server, "cors"), headers={"Origin": APP}, timeout=30)

    assert response.status_code == 200
    assert cors_headers(response) == [
        ("access-control-allow-origin", APP),
        ("vary", "Origin"),
        ("access-control-expose-headers", "x-owned,x-second"),
    ]


@pytest.mark.parametrize("headers", [{}, {"Origin": "https://evil.example"}])
def test_no_matching_origin_adds_nothing(project_server: Server,
                                         headers: dict[str, str]) -> None:
    response = httpx.get(url_of(project_server, "cors"), headers=headers, timeout=30)

    assert response.status_code == 200
    assert cors_headers(response) == []


def test_the_handlers_cors_headers_are_duplicated_not_replaced(project_server: Server) -> None:
    response = httpx.get(url_of(project_server, "cors-reply", "/?kind=cors-headers"),
                         headers={"Origin": APP}, timeout=30)

    assert response.headers.get_list("access-control-allow-origin") == [
        "https://handler.example", APP]
    assert response.headers.get_list("access-control-allow-credentials") == ["false", "true"]
    assert response.headers.get_list("access-control-expose-headers") == ["x-handler,x-owned"]
    assert response.headers.get_list("vary") == ["Origin"]


def test_the_handlers_cors_headers_pass_alone_without_a_match(project_server: Server) -> None:
    response = httpx.get(url_of(project_server, "cors-reply", "/?kind=cors-headers"),
                         headers={"Origin": "https://evil.example"}, timeout=30)

    assert response.headers.get_list("access-control-allow-origin") == [
        "https://handler.example"]
    assert response.headers.get_list("access-control-expose-headers") == ["x-handler"]


def test_a_function_error_still_carries_cors_headers(project_server: Server) -> None:
    response = httpx.get(url_of(project_server, "cors-star", "/?kind=raise"),
                         headers={"Origin": "https://any.example"}, timeout=30)

    assert response.status_code == 502
    assert response.headers["access-control-allow-origin"] == "https://any.example"
    assert response.headers["access-control-allow-credentials"] == "true"
