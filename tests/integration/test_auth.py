"""Authentication and authorization of URL calls through a real server."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.servers import REPO, Server, sign

OWNER = "111122223333"
OTHER = "444455556666"
LEGACY = "999988887777"
THIRD = "777788889999"
FN_ARN = f"arn:aws:lambda:us-east-1:{OWNER}:function:target"
BOTH = ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"]
CODE = str(REPO / "tests" / "integration" / "project" / "functions" / "echo")


def allow(actions: Any, resource: str = "*") -> dict[str, Any]:
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}


def user(key: str, *policies: dict[str, Any]) -> dict[str, Any]:
    return {"access_keys": [{"id": key, "secret": f"{key}-secret"}], "policies": list(policies)}


def function(account: str, auth_type: str, policy: list[dict[str, Any]],
             url_id: str) -> dict[str, Any]:
    return {"account": account, "handler": "app.echo", "code": CODE,
            "url": {"auth_type": auth_type, "id": url_id}, "policy": policy}


URL_STATEMENTS = [
    {"Sid": "Url", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:role/partner"},
     "Action": "lambda:InvokeFunctionUrl",
     "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}},
    {"Sid": "Invoke", "Effect": "Allow",
     "Principal": {"AWS": f"arn:aws:iam::{OTHER}:role/partner"}, "Action": "lambda:InvokeFunction",
     "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}},
    {"Sid": "Alice", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OWNER}:user/rpuser"},
     "Action": BOTH},
    {"Sid": "OtherAccount", "Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": BOTH},
]

PROJECT = {
    "accounts": {
        OWNER: {
            "users": {
                "both": user("AKIABOTHEXAMPLE00001", allow(BOTH)),
                "urlonly": user("AKIAURLONLYEXAMPLE02", allow("lambda:InvokeFunctionUrl")),
                "invokeonly": user("AKIAINVOKEONLYEXAM03", allow("lambda:InvokeFunction")),
                "rpuser": user("AKIARPUSEREXAMPLE004"),
                "nobody": user("AKIANOBODYEXAMPLE005"),
                "denied": user(
                    "AKIADENIEDEXAMPLE006",
                    allow(BOTH),
                    {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Deny", "Action": "lambda:InvokeFunction", "Resource": FN_ARN}]},
                ),
            },
        },
        OTHER: {
            "roles": {
                "partner": user("AKIAPARTNEREXAMPL007", allow(BOTH)),
                "nopolicy": user("AKIANOPOLICYEXAMP008"),
            },
            "users": {"acctuser": user("AKIAACCTUSEREXAMP010", allow(BOTH))},
        },
        THIRD: {"roles": {"stranger": user("AKIASTRANGEREXAMP009", allow(BOTH))}},
        LEGACY: {
            "legacy_url_permissions": True,
            "users": {"old": user("AKIAOLDUSEREXAMPLE11", allow("lambda:InvokeFunctionUrl"))},
        },
    },
    "functions": {
        "target": function(OWNER, "AWS_IAM", URL_STATEMENTS, "t" * 32),
        "legacyfn": function(LEGACY, "AWS_IAM", [], "l" * 32),
        "publicdeny": function(OWNER, "NONE", [
            {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": BOTH},
            {"Sid": "NotFromHere", "Effect": "Deny", "Principal": "*", "Action": "lambda:*",
             "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}},
        ], "p" * 32),
    },
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.servers import start_server

    workdir = tmp_path_factory.mktemp("auth")
    project_file = workdir / "fnurl.yaml"
    project_file.write_text(yaml.safe_dump(PROJECT))
    running = start_server(workdir, ["--config", str(project_file)])
    yield running
    running.stop()


def call(server: Server, key: str | None, url_id: str = "t" * 32, *, path: str = "/x",
         body: bytes = b"", mutate: Callable[[dict[str, str]], None] | None = None,
         region: str = "us-east-1", send_path: str | None = None,
         send_body: bytes | None = None, secret: str | None = None) -> httpx.Response:
    url = server.path_url(url_id, path)
    headers: dict[str, str] = {}
    if key is not None:
        headers = sign("POST", url, key=key, secret=secret or f"{key}-secret", body=body,
                       region=region)
    if mutate is not None:
        mutate(headers)
    target = server.path_url(url_id, send_path) if send_path else url
    return httpx.post(target, headers=headers,
                      content=body if send_body is None else send_body, timeout=30)


@pytest.mark.parametrize(
    ("key", "status", "why"),
    [
        ("AKIABOTHEXAMPLE00001", 200, "same account, identity allows both actions"),
        ("AKIAURLONLYEXAMPLE02", 403, "identity allows only InvokeFunctionUrl"),
        ("AKIAINVOKEONLYEXAM03", 403, "identity allows only InvokeFunction"),
        ("AKIARPUSEREXAMPLE004", 200, "same account, resource policy names the user"),
        ("AKIANOBODYEXAMPLE005", 403, "same account, no policy anywhere"),
        ("AKIADENIEDEXAMPLE006", 403, "explicit Deny on InvokeFunction wins"),
        ("AKIAPARTNEREXAMPL007", 200, "cross account, both sides allow"),
        ("AKIANOPOLICYEXAMP008", 403, "cross account, only the resource side allows"),
        ("AKIASTRANGEREXAMP009", 403, "cross account, only the identity side allows"),
        ("AKIAACCTUSEREXAMP010", 200, "cross account via account principal + identity"),
    ],
)
def test_decisions(server: Server, key: str, status: int, why: str) -> None:
    response = call(server, key, body=b'{"a":1}')

    assert response.status_code == status, why


def test_legacy_account_needs_only_invoke_function_url(server: Server) -> None:
    assert call(server, "AKIAOLDUSEREXAMPLE11", "l" * 32).status_code == 200
    assert call(server, "AKIAURLONLYEXAMPLE02", "l" * 32).status_code == 403


def test_public_url_with_explicit_deny_outside_range(server: Server) -> None:
    response = httpx.get(server.path_url("p" * 32), timeout=30)

    assert response.status_code == 403
    assert "NotFromHere" in server.log()


SIGNATURE_MISMATCH = {
    "message": "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation "
    "for details."
}


def set_header(name: str, value: str) -> Callable[[dict[str, str]], None]:
    def mutate(headers: dict[str, str]) -> None:
        headers[name] = value
    return mutate


@pytest.mark.parametrize(
    ("kwargs", "error_type", "body"),
    [
        ({"body": b"{}", "send_body": b"{ }"}, "InvalidSignatureException", SIGNATURE_MISMATCH),
        ({"path": "/x?a=1", "send_path": "/x?a=2"}, "InvalidSignatureException",
         SIGNATURE_MISMATCH),
        ({"path": "/x", "send_path": "/y"}, "InvalidSignatureException", SIGNATURE_MISMATCH),
        ({"secret": "wrong"}, "InvalidSignatureException", SIGNATURE_MISMATCH),
        ({"mutate": set_header("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")},
         "InvalidSignatureException", SIGNATURE_MISMATCH),
        ({"mutate": set_header("X-Amz-Content-SHA256", hashlib.sha256(b"other").hexdigest())},
         "InvalidSignatureException", SIGNATURE_MISMATCH),
    ],
)
def test_bad_signatures(server: Server, kwargs: dict[str, Any], error_type: str,
                        body: dict[str, str]) -> None:
    response = call(server, "AKIABOTHEXAMPLE00001", **kwargs)

    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"] == error_type
    assert response.json() == body


def test_wrong_region(server: Server) -> None:
    response = call(server, "AKIABOTHEXAMPLE00001", region="eu-west-1")

    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"] == "InvalidSignatureException"
    assert "region" in response.json()["message"]


def test_unknown_key(server: Server) -> None:
    response = call(server, "AKIAUNKNOWNEXAMPLE99")

    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"] == "UnrecognizedClientException"
    assert response.json() == {"message": "The security token included in the request is invalid."}


def test_unsigned_aws_iam(server: Server) -> None:
    response = call(server, None)

    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"] == "AccessDeniedException"
    assert json.loads(response.content)["Message"].startswith("Forbidden.")


def test_handler_never_runs_when_signature_is_bad(server: Server, tmp_path: Path) -> None:
    before = server.log().count("START RequestId")
    call(server, "AKIABOTHEXAMPLE00001", secret="wrong")
    call(server, "AKIAUNKNOWNEXAMPLE99")
    call(server, None)

    assert server.log().count("START RequestId") == before
