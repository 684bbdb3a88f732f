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

from fnurl.control import errors
from tests.servers import REPO, Server, start_server

PROJECT = REPO / "tests" / "control" / "project" / "fnurl.yaml"
ARN = "arn:aws:lambda:us-east-1:111122223333:function:my-function"
ROLE = "arn:aws:iam::111122223333:role/lambda-role"
HANDLER = b"""
import os
import pathlib

def handler(event, context):
    print("handling", sorted(event))
    if event.get("touch"):
        pathlib.Path(event["touch"]).write_text(context.aws_request_id)
    if event.get("fail"):
        raise RuntimeError("failed on purpose")
    if event.get("sleep"):
        import time
        time.sleep(event["sleep"])
    if event.get("generate"):
        return (part for part in "ab")
    if event.get("context"):
        client = context.client_context
        return {
            "arn": context.invoked_function_arn, "version": context.function_version,
            "env_version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
            "trace": os.environ["_X_AMZN_TRACE_ID"],
            "custom": client.custom if client else None,
            "env": client.env if client else None,
            "installation": client.client.installation_id if client and client.client else None,
        }
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
    create(lam, "invoked", HANDLER)
    return lam


def create(lam: Any, name: str, source: str | bytes) -> None:
    """A function made through the API, its app.py holding `source`."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", source)
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                        Handler="app.handler", Code={"ZipFile": archive.getvalue()})


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
    assert error_of(admin.invoke, FunctionName="invoked", Payload=b"NaN")[0] == (
        "InvalidRequestContentException")
    assert error_of(admin.invoke, FunctionName="invoked", Payload=b"{}",
                    ClientContext="not base64!") == (
        "InvalidRequestContentException",
        "Client context must be a valid Base64-encoded JSON object.")
    assert error_of(admin.invoke, FunctionName="nothing-here") == (
        "ResourceNotFoundException",
        "Function not found: arn:aws:lambda:us-east-1:111122223333:function:nothing-here")
    assert error_of(admin.invoke, FunctionName="invoked", Qualifier="9")[0] == (
        "ResourceNotFoundException")
    assert error_of(admin.invoke, FunctionName="invoked", Qualifier="bad.q")[0] == (
        "ValidationException")
    assert error_of(admin.invoke, FunctionName="invoked", Payload=b" " * (6 * 1024 * 1024 + 1)
                    ) == ("RequestEntityTooLargeException", "Request must be smaller than "
                          "6291456 bytes for the InvokeFunction operation")


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


def test_the_context_says_how_the_function_was_called(admin: Any) -> None:
    admin.publish_version(FunctionName="invoked")
    admin.create_alias(FunctionName="invoked", Name="live", FunctionVersion="1")
    arn = "arn:aws:lambda:us-east-1:111122223333:function:invoked"
    client_context = {"custom": {"a": 1}, "env": {"e": "v"}, "client": {"installation_id": "i"}}
    root = "1-5759e988-bd862e3fe1be46a994272793"

    def context_of(**kwargs: Any) -> Any:
        reply = admin.invoke(Payload=b'{"context": true}', **kwargs)
        return json.loads(reply["Payload"].read())

    plain = context_of(FunctionName="invoked")
    assert (plain["arn"], plain["version"], plain["env_version"]) == (arn, "$LATEST", "$LATEST")
    assert plain["custom"] is None and plain["env"] is None

    live = context_of(FunctionName="invoked:live")
    assert (live["arn"], live["version"], live["env_version"]) == (f"{arn}:live", "1", "1")
    assert context_of(FunctionName="invoked", Qualifier="1")["arn"] == f"{arn}:1"
    # A later plain call in the same environment is $LATEST again.
    assert context_of(FunctionName="invoked")["env_version"] == "$LATEST"

    encoded = base64.b64encode(json.dumps(client_context).encode()).decode()
    with_client = context_of(FunctionName="invoked", ClientContext=encoded)
    assert (with_client["custom"], with_client["env"], with_client["installation"]) == (
        {"a": 1}, {"e": "v"}, "i")

    def with_trace(request: Any, **_: Any) -> None:
        request.headers["X-Amzn-Trace-Id"] = f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1"

    admin.meta.events.register("before-sign.lambda.Invoke", with_trace)
    try:
        traced = context_of(FunctionName="invoked")
    finally:
        admin.meta.events.unregister("before-sign.lambda.Invoke", with_trace)
    assert traced["trace"].startswith(f"Root={root};Parent=")


def test_a_generator_is_not_a_payload(admin: Any) -> None:
    reply = admin.invoke(FunctionName="invoked", Payload=b'{"generate": true}')

    assert reply["FunctionError"] == "Unhandled"
    assert json.loads(reply["Payload"].read())["errorType"] == "Runtime.MarshalError"


def test_a_timeout_is_lambdas_error_document(admin: Any) -> None:
    admin.update_function_configuration(FunctionName="invoked", Timeout=1)
    try:
        reply = admin.invoke(FunctionName="invoked", Payload=b'{"sleep": 3}')
    finally:
        admin.update_function_configuration(FunctionName="invoked", Timeout=3)
    request_id, document = unhandled(reply)

    assert document["errorType"] == "Sandbox.Timedout"
    assert document["errorMessage"] == (
        f"RequestId: {request_id} Error: Task timed out after 1.00 seconds")


def unhandled(reply: Any) -> tuple[str, Any]:
    """The request id and error document of an Invoke the function failed."""
    assert reply["FunctionError"] == "Unhandled"
    return reply["ResponseMetadata"]["RequestId"], json.loads(reply["Payload"].read())


def test_a_runtime_that_exits_during_init_says_how(admin: Any) -> None:
    create(admin, "exits", "import sys\nsys.exit(4)\n")

    request_id, document = unhandled(admin.invoke(FunctionName="exits", Payload=b"{}"))

    assert document["errorType"] == "Runtime.ExitError"
    assert document["errorMessage"] == (
        f"RequestId: {request_id} Error: Runtime exited with error: exit status 4")


def test_throttling_names_its_reason_and_a_retry_time() -> None:
    response = errors.throttled().response("rid")

    assert response.status_code == 429
    assert response.headers["x-amzn-errortype"] == "TooManyRequestsException"
    assert response.headers["retry-after"] == "1"
    assert json.loads(bytes(response.body)) == {
        "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User",
        "message": "Rate Exceeded."}


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


def test_an_operation_fnurl_does_not_serve_says_so(admin: Any) -> None:
    code, message = error_of(admin.invoke_with_response_stream, FunctionName="invoked",
                             Payload=b"{}")

    assert code == "UnknownOperationException"
    assert message.startswith("fnurl does not serve this Lambda API operation (POST "
                              "/2021-11-15/functions/invoked/response-streaming-invocations)")


def test_throttled_events_wait_for_a_free_environment(tmp_path: Path) -> None:
    # Lambda queues events and retries throttled ones: a 202 is never silently dropped.
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text(
        "import pathlib, time\n"
        "def handler(event, context):\n"
        "    time.sleep(0.3)\n"
        "    pathlib.Path(event['touch']).write_text('ran')\n")
    (tmp_path / "fnurl.yaml").write_text(
        'accounts:\n  "111122223333":\n    users:\n      admin:\n'
        "        access_keys: [{id: AKIAADMINEXAMPLE0001, secret: admin-secret}]\n"
        '        policies: [{Version: "2012-10-17", Statement: [{Effect: Allow, '
        'Action: "lambda:*", Resource: "*"}]}]\n'
        "functions:\n  one-at-a-time: {code: code, handler: app.handler, "
        "reserved_concurrency: 1}\n")
    server = start_server(tmp_path, ["--ephemeral"])
    try:
        lam = client(server, "AKIAADMINEXAMPLE0001", "admin-secret")
        flags = [tmp_path / f"ran-{n}" for n in range(4)]
        for flag in flags:
            reply = lam.invoke(FunctionName="one-at-a-time", InvocationType="Event",
                               Payload=json.dumps({"touch": str(flag)}).encode())
            assert reply["StatusCode"] == 202

        deadline = time.monotonic() + 30
        while not all(f.exists() for f in flags) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(f.exists() for f in flags), server.log()
        assert "dropped" not in server.log()
    finally:
        server.stop()
