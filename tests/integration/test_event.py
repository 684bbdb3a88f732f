"""The payload 2.0 event a handler receives, through a real server (spec section 2)."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest

from tests.integration.support import validated
from tests.servers import Server, send_to_host, sign

CAROL = ("AKIACAROLEXAMPLE0001", "carol-secret")


def url_id(server: Server, function: str) -> str:
    urls = httpx.get(f"{server.base}/_fnurl/health", timeout=10).json()["urls"]
    return str(urls[function]["url_id"])


def echo(server: Server, path: str = "/", **kwargs: Any) -> dict[str, Any]:
    method = kwargs.pop("method", "GET")
    response = httpx.request(method, server.path_url(url_id(server, "echo"), path),
                             timeout=30, **kwargs)
    assert response.status_code == 200, response.text
    seen: dict[str, Any] = response.json()
    validated(seen["event"])    # every event these tests see also passes Powertools' model
    return seen


def test_shape_of_a_get(project_server: Server) -> None:
    seen = echo(project_server, "/probe/a%2Fb?case=a&x=1&x=2", headers={"User-Agent": "t/1"})
    event = seen["event"]
    context = event["requestContext"]
    uid = url_id(project_server, "echo")

    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/probe/a%2Fb"
    assert event["rawQueryString"] == "case=a&x=1&x=2"
    assert event["queryStringParameters"] == {"case": "a", "x": "1,2"}
    assert "cookies" not in event
    assert "body" not in event
    assert event["isBase64Encoded"] is False
    assert context["accountId"] == "anonymous"
    assert context["apiId"] == uid
    assert context["domainPrefix"] == uid
    assert context["domainName"] == f"{uid}.lambda-url.us-east-1.on.aws"
    assert context["http"] == {
        "method": "GET", "path": "/probe/a%2Fb", "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1", "userAgent": "t/1",
    }
    assert context["routeKey"] == "$default" and context["stage"] == "$default"
    assert "authorizer" not in context
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["time"])
    assert isinstance(context["timeEpoch"], int) and context["timeEpoch"] > 1.7e12
    headers = event["headers"]
    assert headers["content-length"] == "0"
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-port"] == "443"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert re.fullmatch(r"Self=1-[0-9a-f]{8}-[0-9a-f]{24};Root=1-[0-9a-f]{8}-[0-9a-f]{24}",
                        headers["x-amzn-trace-id"])
    assert "connection" not in headers


def test_a_client_sent_forwarded_for_does_not_move_the_source_ip(project_server: Server) -> None:
    # The TCP peer is the source, as on AWS: a header from the client must not spoof
    # sourceIp (nor aws:SourceIp in policies).
    seen = echo(project_server, "/", headers={"X-Forwarded-For": "198.51.100.7"})
    event = seen["event"]

    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["headers"]["x-forwarded-for"] == "198.51.100.7, 127.0.0.1"


def test_no_query_means_no_parameters(project_server: Server) -> None:
    event = echo(project_server, "/")["event"]

    assert event["rawQueryString"] == ""
    assert "queryStringParameters" not in event


def test_repeated_headers_and_cookies(project_server: Server) -> None:
    headers = [("X-Different", "one"), ("X-Different", "two"), ("X-Different", "three"),
               ("Cookie", "a=1; b=two"), ("Cookie", "c=3")]
    event = echo(project_server, "/", headers=headers)["event"]

    assert event["headers"]["x-different"] == "one,two,three"
    assert event["cookies"] == ["a=1", "b=two", "c=3"]
    assert event["headers"]["cookie"] == "a=1; b=two,c=3"


def test_query_decoding(project_server: Server) -> None:
    event = echo(project_server, "/?multiQuery=foo&multiQuery=%2Fbar&sp=a%20b&e=&flag")["event"]

    assert event["queryStringParameters"] == {
        "multiQuery": "foo,/bar", "sp": "a b", "e": "", "flag": ""}
    assert event["rawQueryString"] == "multiQuery=foo&multiQuery=%2Fbar&sp=a%20b&e=&flag"


@pytest.mark.parametrize(
    ("content_type", "body", "is_base64"),
    [
        ("application/json", b'{"a": 1}', False),
        ("text/plain; charset=utf-8", "héllo".encode(), False),
        ("application/vnd.api+json", b"{}", False),
        ("application/x-www-form-urlencoded", b"a=1&b=two", True),
        ("application/octet-stream", b"\x00\x01\xff", True),
        ("multipart/form-data; boundary=x", b"--x\r\n\r\n--x--", True),
    ],
)
def test_body_encoding(project_server: Server, content_type: str, body: bytes,
                       is_base64: bool) -> None:
    event = echo(project_server, "/", method="POST", content=body,
                 headers={"Content-Type": content_type})["event"]

    assert event["isBase64Encoded"] is is_base64
    if is_base64:
        assert base64.b64decode(event["body"]) == body
    else:
        assert event["body"] == body.decode()
    assert event["headers"]["content-length"] == str(len(body))


def test_host_form_keeps_the_path(project_server: Server) -> None:
    uid = url_id(project_server, "echo")
    response = send_to_host(project_server, "GET", uid, "/deep/path?q=1")
    event = validated(response.json()["event"])

    assert event["rawPath"] == "/deep/path"
    assert event["headers"]["host"] == project_server.host(uid)


def test_path_form_without_trailing_slash(project_server: Server) -> None:
    uid = url_id(project_server, "echo")
    response = httpx.get(f"{project_server.base}/_fnurl/{uid}", timeout=30)

    assert validated(response.json()["event"])["rawPath"] == "/"


def test_request_id_is_shared(project_server: Server) -> None:
    uid = url_id(project_server, "echo")
    response = httpx.get(project_server.path_url(uid), timeout=30)
    seen = response.json()
    validated(seen["event"])
    request_id = response.headers["x-amzn-requestid"]

    assert seen["event"]["requestContext"]["requestId"] == request_id
    assert seen["context"]["aws_request_id"] == request_id
    assert re.fullmatch(r"[0-9a-f-]{36}", request_id)
    assert re.fullmatch(
        r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0;Lineage=1:[0-9a-f]{8}:0",
        response.headers["x-amzn-trace-id"],
    )


def test_one_trace_joins_the_event_the_environment_and_the_reply(
    project_server: Server,
) -> None:
    uid = url_id(project_server, "echo")
    response = httpx.get(project_server.path_url(uid), timeout=30)
    seen = response.json()
    root = response.headers["x-amzn-trace-id"].split(";")[0]

    assert seen["event"]["headers"]["x-amzn-trace-id"].endswith(";" + root)
    assert seen["env"]["_X_AMZN_TRACE_ID"] == response.headers["x-amzn-trace-id"]

    # The next call is another trace, and its environment variable says so.
    again = httpx.get(project_server.path_url(uid), timeout=30)
    assert again.headers["x-amzn-trace-id"].split(";")[0] != root
    assert again.json()["env"]["_X_AMZN_TRACE_ID"] == again.headers["x-amzn-trace-id"]


def test_a_callers_trace_root_is_continued(project_server: Server) -> None:
    root = "1-6553f100-0123456789abcdef01234567"
    uid = url_id(project_server, "echo")
    response = httpx.get(project_server.path_url(uid), timeout=30,
                         headers={"X-Amzn-Trace-Id": f"Root={root};Sampled=1"})
    seen = response.json()

    assert response.headers["x-amzn-trace-id"].startswith(f"Root={root};Parent=")
    assert seen["event"]["headers"]["x-amzn-trace-id"].endswith(f";Root={root}")
    assert seen["env"]["_X_AMZN_TRACE_ID"].startswith(f"Root={root};")


def test_context_and_environment(project_server: Server) -> None:
    seen = echo(project_server)
    context, env = seen["context"], seen["env"]

    assert context["function_name"] == "echo"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == "arn:aws:lambda:us-east-1:111122223333:function:echo"
    assert context["memory_limit_in_mb"] == "256"
    assert context["log_group_name"] == "/aws/lambda/echo"
    assert context["log_stream_name"].endswith("]" + context["log_stream_name"][-32:])
    assert 0 < context["remaining_ms"] <= 3000
    assert env["GREETING"] == "hi" and env["COUNT"] == "3"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "echo"
    assert env["AWS_REGION"] == "us-east-1"
    assert env["_HANDLER"] == "app.echo"
    assert seen["cwd"].endswith("functions/echo")
    assert "FNURL_STATE_DIR" not in env and "VIRTUAL_ENV" not in env


def test_aws_iam_event_has_authorizer_and_no_authorization(project_server: Server) -> None:
    uid = url_id(project_server, "iam-echo")
    url = project_server.path_url(uid, "/x")
    headers = sign("POST", url, key=CAROL[0], secret=CAROL[1], body=b'{"k":"v"}',
                   headers={"Content-Type": "application/json"})
    response = httpx.post(url, headers=headers, content=b'{"k":"v"}', timeout=30)

    assert response.status_code == 200, response.text
    event = validated(response.json()["event"])
    assert event["requestContext"]["accountId"] == "111122223333"
    iam = event["requestContext"]["authorizer"]["iam"]
    assert list(iam) == ["accessKey", "accountId", "callerId", "cognitoIdentity",
                         "principalOrgId", "userArn", "userId"]
    assert iam["accessKey"] == CAROL[0]
    assert iam["userArn"] == "arn:aws:iam::111122223333:user/carol"
    assert iam["callerId"] == iam["userId"] and iam["userId"].startswith("AIDA")
    assert iam["cognitoIdentity"] is None and iam["principalOrgId"] is None
    assert "authorization" not in event["headers"]
    assert "x-amz-date" in event["headers"]
    assert event["body"] == '{"k":"v"}'
