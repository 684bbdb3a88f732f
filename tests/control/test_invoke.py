"""The Invoke API through boto3: same handlers as the URLs, authorized as a direct call."""

from __future__ import annotations

import base64
import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.servers import REPO, Server, start_server

PROJECT = REPO / "tests" / "control" / "project" / "fnurl.yaml"
ARN = "arn:aws:lambda:us-east-1:111122223333:function:my-function"
ROLE = "arn:aws:iam::111122223333:role/lambda-role"
HANDLER = b"""
import pathlib

def handler(event, context):
    print("handling", sorted(event))
    if event.get("touch"):
        pathlib.Path(event["touch"]).write_text(context.aws_request_id)
    if event.get("fail"):
        raise RuntimeError("failed on purpose")
    return {"got": event}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("invoke"),
                           ["--config", str(PROJECT), "--ephemeral"])
    yield running
    running.stop()


def client(server: Server, key: str, secret: str) -> Any:
    return boto3.client("lambda", region_name="us-east-1", endpoint_url=server.base,
                        aws_access_key_id=key, aws_secret_access_key=secret)


@pytest.fixture(scope="module")
def admin(server: Server) -> Any:
    lam = client(server, "AKIAADMINEXAMPLE0001", "admin-secret")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", HANDLER)
    lam.create_function(FunctionName="invoked", Runtime="python3.12", Role=ROLE,
                        Handler="app.handler", Code={"ZipFile": archive.getvalue()})
    return lam


def error_of(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def test_a_synchronous_call_answers_the_handlers_payload(admin: Any) -> None:
    reply = admin.invoke(FunctionName="invoked", Payload=b'{"a": 1}', LogType="Tail")

    assert reply["StatusCode"] == 200
    assert reply["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in reply
    assert json.loads(reply["Payload"].read()) == {"got": {"a": 1}}
    request_id = reply["ResponseMetadata"]["RequestId"]
    log = base64.b64decode(reply["LogResult"]).decode().splitlines()
    assert log[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert "handling ['a']" in log[1]
    assert log[2] == f"END RequestId: {request_id}"
    assert log[3].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert len(log) == 4
    assert "LogResult" not in admin.invoke(FunctionName="invoked", Payload=b"{}")


def test_a_handler_error_is_a_200_with_the_error_document(admin: Any) -> None:
    reply = admin.invoke(FunctionName="invoked", Payload=b'{"fail": true}')

    assert reply["StatusCode"] == 200
    assert reply["FunctionError"] == "Unhandled"
    document = json.loads(reply["Payload"].read())
    assert document["errorType"] == "RuntimeError"
    assert document["errorMessage"] == "failed on purpose"
    assert document["requestId"] == reply["ResponseMetadata"]["RequestId"]
    assert any("app.py" in line for line in document["stackTrace"])


def test_event_and_dry_run_invocations(admin: Any, tmp_path: Path) -> None:
    flag = tmp_path / "ran"
    accepted = admin.invoke(FunctionName="invoked", InvocationType="Event",
                            Payload=json.dumps({"touch": str(flag)}).encode())
    assert accepted["StatusCode"] == 202

    deadline = time.monotonic() + 20
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert flag.read_text() == accepted["ResponseMetadata"]["RequestId"]

    dry = admin.invoke(FunctionName="invoked", InvocationType="DryRun",
                       Payload=json.dumps({"touch": str(tmp_path / "not")}).encode())
    assert dry["StatusCode"] == 204
    time.sleep(0.3)
    assert not (tmp_path / "not").exists()


def test_bad_requests(admin: Any) -> None:
    assert error_of(admin.invoke, FunctionName="invoked", Payload=b"not json")[0] == (
        "InvalidRequestContentException")
    assert error_of(admin.invoke, FunctionName="nothing-here") == (
        "ResourceNotFoundException",
        "Function not found: arn:aws:lambda:us-east-1:111122223333:function:nothing-here")
    assert error_of(admin.invoke, FunctionName="invoked", Qualifier="9")[0] == (
        "ResourceNotFoundException")


def test_direct_calls_need_invoke_function_without_the_url_condition(
    server: Server, admin: Any
) -> None:
    member = client(server, "AKIAMEMBEREXAMPLE003", "member-secret")
    reader = client(server, "AKIAREADEREXAMPLE002", "reader-secret")

    code, message = error_of(reader.invoke, FunctionName=ARN)
    assert code == "AccessDeniedException"
    assert message == (
        "User: arn:aws:iam::111122223333:user/reader is not authorized to perform: "
        f"lambda:InvokeFunction on resource: {ARN} because no identity-based policy allows "
        "the lambda:InvokeFunction action")

    # What the console adds for a public URL admits URL calls only (spec section 7.1).
    admin.add_permission(FunctionName="my-function", StatementId="url-only",
                         Action="lambda:InvokeFunction", Principal="*",
                         InvokedViaFunctionUrl=True)
    assert error_of(member.invoke, FunctionName=ARN)[0] == "AccessDeniedException"

    admin.add_permission(FunctionName="my-function", StatementId="member",
                         Action="lambda:InvokeFunction", Principal="444455556666")
    reply = member.invoke(FunctionName=ARN, Payload=b'{"from": "member"}')
    assert json.loads(reply["Payload"].read()) == {"from": "member"}


def test_an_alias_is_invoked_under_its_own_policy(server: Server, admin: Any) -> None:
    admin.publish_version(FunctionName="other-function")
    admin.create_alias(FunctionName="other-function", Name="stable", FunctionVersion="1")
    admin.add_permission(FunctionName="other-function", Qualifier="stable", StatementId="m",
                         Action="lambda:InvokeFunction", Principal="444455556666")
    member = client(server, "AKIAMEMBEREXAMPLE003", "member-secret")
    other = "arn:aws:lambda:us-east-1:111122223333:function:other-function"

    reply = member.invoke(FunctionName=f"{other}:stable", Payload=b"{}")
    assert reply["StatusCode"] == 200 and reply["ExecutedVersion"] == "1"
    assert error_of(member.invoke, FunctionName=other)[0] == "AccessDeniedException"
