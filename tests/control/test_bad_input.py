"""Malformed control-plane requests: a specific 4xx, nothing stored, the server unharmed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import REPO, Server, sign, start_server

PROJECT = REPO / "tests" / "control" / "project" / "fnurl.yaml"
ADMIN = {"key": "AKIAADMINEXAMPLE0001", "secret": "admin-secret"}


def call(server: Server, method: str, path: str, body: Any = None,
         raw: bytes | None = None) -> httpx.Response:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    url = f"{server.base}{path}"
    headers = sign(method, url, body=data, **ADMIN)
    return httpx.request(method, url, headers=headers, content=data, timeout=60)


URL = "/2021-10-31/functions/other-function/url"


@pytest.mark.parametrize(
    "cors",
    [
        {"AllowOrigins": [1]},
        {"AllowOrigins": "https://a.example"},
        {"AllowMethods": ["GET", ""]},
        {"AllowMethods": 5},
        {"AllowOrigins": ["https://a.example"] * 101},
        {"AllowCredentials": "yes"},
        {"MaxAge": True},
        {"MaxAge": 86401},
        {"Unknown": 1},
    ],
)
def test_bad_cors_is_refused_and_not_stored(server: Server, args: list[str], tmp_path: Path,
                                            cors: dict[str, Any]) -> None:
    response = call(server, "POST", URL, {"AuthType": "NONE", "Cors": cors})

    assert response.status_code == 400, response.text
    assert response.headers["x-amzn-errortype"] in ("ValidationException",
                                                    "SerializationException")
    assert call(server, "GET", URL).status_code == 404


def test_bad_cors_on_update_keeps_the_server_restartable(server: Server, args: list[str],
                                                         tmp_path: Path) -> None:
    assert call(server, "POST", URL, {"AuthType": "NONE"}).status_code == 201
    assert call(server, "PUT", URL, {"Cors": {"AllowOrigins": [None]}}).status_code == 400
    server.stop()

    again = start_server(tmp_path, args)
    try:
        assert call(again, "GET", URL).json()["AuthType"] == "NONE"
    finally:
        again.stop()


def test_typed_parameters(server: Server) -> None:
    policy = "/2015-03-31/functions/other-function/policy"
    response = call(server, "POST", policy, {
        "StatementId": "s", "Action": "lambda:InvokeFunction", "Principal": "*",
        "InvokedViaFunctionUrl": "true"})
    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "SerializationException"

    create = {"FunctionName": "typed", "Runtime": "python3.12",
              "Role": "arn:aws:iam::111122223333:role/r", "Handler": "app.handler",
              "Code": {"ZipFile": ""}}
    for extra in ({"Timeout": 0}, {"Timeout": "3"}, {"MemorySize": 64}, {"Tags": "x"},
                  {"Environment": {"Variables": {"A": 1}}}):
        response = call(server, "POST", "/2015-03-31/functions", {**create, **extra})
        assert response.status_code == 400, (extra, response.text)


def test_malformed_bodies(server: Server) -> None:
    deep = call(server, "POST", URL, raw=b"[" * 50000)
    assert deep.status_code == 400
    assert deep.headers["x-amzn-errortype"] == "SerializationException"

    huge = call(server, "POST", URL, raw=b"{" + b" " * (7 * 1024 * 1024) + b"}")
    assert huge.status_code == 413


@pytest.mark.parametrize(
    "name",
    ["arn:aws:s3:::bucket", "other-function:", "x" * 65, "arn:aws:lambda:us-east-1:1:layer:x"],
)
def test_bad_function_names(server: Server, name: str) -> None:
    response = call(server, "GET", f"/2021-10-31/functions/{name}/url")

    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "ValidationException"
    assert "functionName" in response.json()["message"]


def test_other_partition_is_not_found(server: Server) -> None:
    arn = "arn:aws-cn:lambda:us-east-1:111122223333:function:other-function"
    assert call(server, "GET", f"/2021-10-31/functions/{arn}/url").status_code == 404


@pytest.mark.parametrize("member", ["SourceArn", "Principal", "StatementId", "SourceAccount"])
def test_add_permission_members_of_the_wrong_type(server: Server, member: str) -> None:
    body = {"StatementId": "typed", "Action": "lambda:InvokeFunction", "Principal": "*",
            member: 12}
    response = call(server, "POST", "/2015-03-31/functions/other-function/policy", body)

    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "SerializationException"
    assert member in response.text
    policy = call(server, "GET", "/2015-03-31/functions/other-function/policy")
    assert "typed" not in policy.text


@pytest.mark.parametrize(("value", "says"), [("0", "greater than or equal to 1"),
                                             ("51", "less than or equal to 50"),
                                             ("abc", "integer")])
def test_list_url_configs_max_items_out_of_range(server: Server, value: str, says: str) -> None:
    response = call(server, "GET", f"/2021-10-31/functions/other-function/urls?MaxItems={value}")

    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "ValidationException"
    assert says in response.json()["message"]


def test_missing_and_overlong_members_are_named_as_aws_names_them(server: Server) -> None:
    policy = "/2015-03-31/functions/other-function/policy"

    missing = call(server, "POST", policy, {"StatementId": "q", "Principal": "*"})
    assert missing.status_code == 400
    assert missing.json()["message"] == (
        "1 validation error detected: Value null at 'action' failed to satisfy constraint: "
        "Member must not be null")

    long_sid = "s" * 101
    for response in (
        call(server, "POST", policy, {"StatementId": long_sid, "Action": "lambda:*",
                                      "Principal": "*"}),
        call(server, "DELETE", f"{policy}/{long_sid}"),
    ):
        assert response.status_code == 400
        assert response.json()["message"].endswith(
            "Member must have length less than or equal to 100")


def test_a_list_in_a_validation_message_is_printed_as_aws_prints_it() -> None:
    from fnurl.control import errors

    message = errors.validation(["OPTIONS", 1], "cors.allowMethods", "Member must ...").message

    assert message.startswith("1 validation error detected: Value '[OPTIONS, 1]' at ")
