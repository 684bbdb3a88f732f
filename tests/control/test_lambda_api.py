"""The Lambda API through boto3 and the AWS CLI, against a real server (spec section 8)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.servers import REPO, Server, start_server

PROJECT = REPO / "tests" / "control" / "project" / "fnurl.yaml"
KEYS = {
    "admin": ("AKIAADMINEXAMPLE0001", "admin-secret"),
    "reader": ("AKIAREADEREXAMPLE002", "reader-secret"),
    "member": ("AKIAMEMBEREXAMPLE003", "member-secret"),
    "example": ("AKIAEXAMPLEROLE00004", "example-secret"),
}
FN_ARN = "arn:aws:lambda:us-east-1:111122223333:function:{}"


def client(server: Server, who: str = "admin", region: str = "us-east-1") -> Any:
    key, secret = KEYS[who]
    return boto3.client("lambda", region_name=region, endpoint_url=server.base,
                        aws_access_key_id=key, aws_secret_access_key=secret)


def error(call: Any, *args: Any, **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    response = caught.value.response
    return (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"],
            response["Error"]["Message"])


def test_url_config_lifecycle(server: Server) -> None:
    admin = client(server)

    created = admin.create_function_url_config(FunctionName="other-function", AuthType="NONE")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["AuthType"] == "NONE"
    assert created["FunctionArn"] == FN_ARN.format("other-function")
    assert "Cors" not in created and "InvokeMode" not in created
    url_id = created["FunctionUrl"].split("//")[1].split(".")[0]
    assert len(url_id) == 32 and url_id.isalnum()

    got = admin.get_function_url_config(FunctionName="other-function")
    assert got["InvokeMode"] == "BUFFERED"
    assert got["CreationTime"] == got["LastModifiedTime"] == created["CreationTime"]
    assert got["CreationTime"].endswith("Z") and len(got["CreationTime"]) == 30

    updated = admin.update_function_url_config(
        FunctionName="other-function", AuthType="AWS_IAM",
        Cors={"AllowOrigins": ["https://example.com"], "MaxAge": 60})
    assert updated["AuthType"] == "AWS_IAM"
    assert updated["Cors"] == {"AllowOrigins": ["https://example.com"], "MaxAge": 60}
    assert "InvokeMode" not in updated

    listed = admin.list_function_url_configs(FunctionName="other-function")
    assert [c["AuthType"] for c in listed["FunctionUrlConfigs"]] == ["AWS_IAM"]

    admin.delete_function_url_config(FunctionName="other-function")
    assert error(admin.get_function_url_config, FunctionName="other-function") == (
        404, "ResourceNotFoundException", "The resource you requested does not exist.")
    assert admin.list_function_url_configs(FunctionName="other-function")[
        "FunctionUrlConfigs"] == []

    again = admin.create_function_url_config(FunctionName="other-function", AuthType="NONE")
    assert again["FunctionUrl"] != created["FunctionUrl"]


def test_url_config_errors(server: Server) -> None:
    admin = client(server)
    admin.create_function_url_config(FunctionName="other-function", AuthType="NONE",
                                     InvokeMode="RESPONSE_STREAM")

    status, code, message = error(admin.create_function_url_config,
                                  FunctionName="other-function", AuthType="NONE")
    assert (status, code) == (409, "ResourceConflictException")
    assert message == (
        "Failed to create function url config for [functionArn = "
        f"{FN_ARN.format('other-function')}]. Error message:  FunctionUrlConfig exists for "
        "this Lambda function")
    assert error(admin.create_function_url_config, FunctionName="nope", AuthType="NONE") == (
        404, "ResourceNotFoundException", "Function does not exist")
    assert error(admin.get_function_url_config, FunctionName="nope")[:2] == (
        404, "ResourceNotFoundException")
    status, code, message = error(admin.get_function_url_config, FunctionName="other-function",
                                  Qualifier="1")
    assert (status, code) == (400, "ValidationException")
    assert message.startswith("1 validation error detected: Value '1' at 'qualifier'")
    status, code, message = error(admin.update_function_url_config,
                                  FunctionName="other-function", InvokeMode="UNKNOWN")
    assert (status, code) == (400, "ValidationException")
    assert "[RESPONSE_STREAM, BUFFERED]" in message

    kept = admin.update_function_url_config(FunctionName="other-function")
    assert kept["InvokeMode"] == "RESPONSE_STREAM"


def test_changes_reach_the_data_plane_at_once(server: Server) -> None:
    admin = client(server)
    url = admin.create_function_url_config(FunctionName="other-function",
                                           AuthType="NONE")["FunctionUrl"]
    host = url.split("//")[1].rstrip("/")

    def call() -> int:
        return httpx.get(f"{server.base}/", headers={"Host": host}, timeout=30).status_code

    assert call() == 403   # the API adds no statement for NONE
    for sid, action, extra in (
        ("url", "lambda:InvokeFunctionUrl", {"FunctionUrlAuthType": "NONE"}),
        ("invoke", "lambda:InvokeFunction", {"InvokedViaFunctionUrl": True}),
    ):
        admin.add_permission(FunctionName="other-function", StatementId=sid, Action=action,
                             Principal="*", **extra)
    assert call() == 200

    admin.delete_function_url_config(FunctionName="other-function")
    assert call() == 403
    assert json.loads(admin.get_policy(FunctionName="other-function")["Policy"])["Statement"]


def test_add_permission_statements_match_aws(server: Server) -> None:
    admin = client(server)
    arn = FN_ARN.format("other-function")
    cases = [
        ({"StatementId": "account", "Action": "lambda:InvokeFunction",
          "Principal": "444455556666"},
         {"Sid": "account", "Effect": "Allow",
          "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
          "Action": "lambda:InvokeFunction", "Resource": arn}),
        ({"StatementId": "public", "Action": "lambda:InvokeFunctionUrl", "Principal": "*",
          "FunctionUrlAuthType": "NONE"},
         {"Sid": "public", "Effect": "Allow", "Principal": "*",
          "Action": "lambda:InvokeFunctionUrl", "Resource": arn,
          "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}}),
        ({"StatementId": "via-url", "Action": "lambda:InvokeFunction", "Principal": "*",
          "InvokedViaFunctionUrl": True},
         {"Sid": "via-url", "Effect": "Allow", "Principal": "*",
          "Action": "lambda:InvokeFunction", "Resource": arn,
          "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}}),
        ({"StatementId": "s3", "Action": "lambda:InvokeFunction",
          "Principal": "s3.amazonaws.com", "SourceArn": "arn:aws:s3:::test-bucket",
          "SourceAccount": "111122223333", "PrincipalOrgID": "o-1234567890"},
         {"Sid": "s3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
          "Action": "lambda:InvokeFunction", "Resource": arn,
          "Condition": {"StringEquals": {"AWS:SourceAccount": "111122223333",
                                         "aws:PrincipalOrgID": "o-1234567890"},
                        "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::test-bucket"}}}),
        ({"StatementId": "role", "Action": "lambda:InvokeFunctionUrl",
          "Principal": "arn:aws:iam::444455556666:role/example",
          "FunctionUrlAuthType": "AWS_IAM"},
         {"Sid": "role", "Effect": "Allow",
          "Principal": {"AWS": "arn:aws:iam::444455556666:role/example"},
          "Action": "lambda:InvokeFunctionUrl", "Resource": arn,
          "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}}),
    ]
    for parameters, expected in cases:
        reply = admin.add_permission(FunctionName="other-function", **parameters)
        assert reply["Statement"] == json.dumps(expected, separators=(",", ":"))

    policy = admin.get_policy(FunctionName="other-function")
    assert policy["Policy"] == json.dumps(
        {"Version": "2012-10-17", "Id": "default", "Statement": [e for _, e in cases]},
        separators=(",", ":"))


def test_add_permission_errors(server: Server) -> None:
    admin = client(server)
    base = {"FunctionName": "other-function", "Action": "lambda:InvokeFunction"}
    admin.add_permission(StatementId="s3", Principal="*", **base)

    assert error(admin.add_permission, StatementId="s3", Principal="*", **base) == (
        409, "ResourceConflictException",
        "The statement id (s3) provided already exists. Please provide a new statement id, or "
        "remove the existing statement.")
    status, code, message = error(admin.add_permission, StatementId="example.com",
                                  Principal="*", **base)
    assert (status, code) == (400, "ValidationException")
    assert message == ("1 validation error detected: Value 'example.com' at 'statementId' "
                       "failed to satisfy constraint: Member must satisfy regular expression "
                       "pattern: ([a-zA-Z0-9-_]+)")
    assert error(admin.add_permission, StatementId="p", Principal="not a principal",
                 **base) == (400, "InvalidParameterValueException",
                             "The provided principal was invalid. Please check the principal "
                             "and try again.")
    assert error(admin.add_permission, StatementId="u", Principal="*",
                 FunctionUrlAuthType="NONE", **base) == (
        400, "InvalidParameterValueException",
        "FunctionUrlAuthType is only supported for lambda:InvokeFunctionUrl action")
    assert error(admin.add_permission, StatementId="q", Principal="*", Qualifier="$LATEST",
                 **base) == (400, "InvalidParameterValueException",
                             "We currently do not support adding policies for $LATEST.")
    assert error(admin.add_permission, StatementId="q", Principal="*",
                 FunctionName="missing", Action="lambda:InvokeFunction") == (
        404, "ResourceNotFoundException",
        f"Function not found: {FN_ARN.format('missing')}")
    assert error(admin.add_permission, StatementId="s", Principal="*", SourceArn="not-an-arn",
                 **base)[:2] == (400, "ValidationException")
    assert error(admin.add_permission, StatementId="s", Principal="*", EventSourceToken="a b",
                 **base)[:2] == (400, "ValidationException")
    status, code, _ = error(admin.add_permission, StatementId="r", Principal="*",
                            RevisionId="stale", **base)
    assert (status, code) == (412, "PreconditionFailedException")

    big = {"StatementId": "big", "Principal": "*", "SourceArn": "arn:aws:s3:::" + "x" * 21000,
           **base}
    status, code, message = error(admin.add_permission, **big)
    assert (status, code) == (400, "PolicyLengthExceededException")
    assert "bigger than the limit (20480)" in message


def test_remove_permission_and_revisions(server: Server) -> None:
    admin = client(server)
    assert error(admin.get_policy, FunctionName="other-function")[:2] == (
        404, "ResourceNotFoundException")
    assert error(admin.remove_permission, FunctionName="other-function",
                 StatementId="x") == (404, "ResourceNotFoundException",
                                      "No policy is associated with the given resource.")

    admin.add_permission(FunctionName="other-function", StatementId="a",
                         Action="lambda:InvokeFunction", Principal="*")
    first = admin.get_policy(FunctionName="other-function")["RevisionId"]
    admin.add_permission(FunctionName="other-function", StatementId="b",
                         Action="lambda:InvokeFunction", Principal="*", RevisionId=first)
    second = admin.get_policy(FunctionName="other-function")["RevisionId"]
    assert second != first

    assert error(admin.remove_permission, FunctionName="other-function", StatementId="zz") == (
        404, "ResourceNotFoundException", "Statement zz is not found in resource policy.")
    assert error(admin.remove_permission, FunctionName="other-function", StatementId="a",
                 RevisionId=first)[:2] == (412, "PreconditionFailedException")
    admin.remove_permission(FunctionName="other-function", StatementId="a", RevisionId=second)
    policy = json.loads(admin.get_policy(FunctionName="other-function")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["b"]


def test_governance_examples(server: Server) -> None:
    admin, example, member = client(server), client(server, "example"), client(server, "member")
    arn = FN_ARN.format("my-function")

    # Resource policy denies UpdateFunctionUrlConfig to NONE (AWS's documented example).
    admin.create_function_url_config(FunctionName="my-function", AuthType="AWS_IAM")
    status, code, message = error(admin.update_function_url_config,
                                  FunctionName="my-function", AuthType="NONE")
    assert (status, code) == (403, "AccessDeniedException")
    assert message == (
        "User: arn:aws:iam::111122223333:user/admin is not authorized to perform: "
        f"lambda:UpdateFunctionUrlConfig on resource: {arn} with an explicit deny in a "
        "resource-based policy")

    # Cross-account role may create/update only AWS_IAM URLs (documented example).
    admin.delete_function_url_config(FunctionName="my-function")
    assert error(example.create_function_url_config, FunctionName=arn,
                 AuthType="NONE")[:2] == (403, "AccessDeniedException")
    created = example.create_function_url_config(FunctionName=arn, AuthType="AWS_IAM")
    assert created["AuthType"] == "AWS_IAM"

    # The member account's SCP denies Create/Update unless AWS_IAM (documented SCP).
    status, code, message = error(member.create_function_url_config,
                                  FunctionName="member-function", AuthType="NONE")
    assert (status, code) == (403, "AccessDeniedException")
    assert "service control policy" in message
    assert member.create_function_url_config(FunctionName="member-function",
                                             AuthType="AWS_IAM")["AuthType"] == "AWS_IAM"

    # An identity policy that allows only reads.
    assert error(client(server, "reader").delete_function_url_config,
                 FunctionName="my-function")[:2] == (403, "AccessDeniedException")


def test_unsigned_and_badly_signed_calls(server: Server) -> None:
    response = httpx.get(f"{server.base}/2021-10-31/functions/my-function/url", timeout=10)
    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"

    bad = boto3.client("lambda", region_name="us-east-1", endpoint_url=server.base,
                       aws_access_key_id=KEYS["admin"][0], aws_secret_access_key="wrong")
    assert error(bad.get_policy, FunctionName="my-function")[:2] == (
        403, "InvalidSignatureException")


def test_state_survives_restart_and_file_edits_win(tmp_path: Path) -> None:
    project = tmp_path / "fnurl.yaml"
    shutil.copytree(PROJECT.parent / "functions", tmp_path / "functions")
    project.write_text(PROJECT.read_text())
    args = ["--config", str(project)]

    first = start_server(tmp_path, args)
    try:
        admin = client(first)
        url = admin.create_function_url_config(FunctionName="other-function",
                                               AuthType="AWS_IAM")["FunctionUrl"]
        admin.add_permission(FunctionName="my-function", StatementId="added",
                             Action="lambda:InvokeFunction", Principal="*")
    finally:
        first.stop()
    assert (tmp_path / ".fnurl" / "fnurl.db").exists()

    second = start_server(tmp_path, args)
    try:
        admin = client(second)
        assert admin.get_function_url_config(FunctionName="other-function")["FunctionUrl"] \
            .split("//")[1].split(".")[0] == url.split("//")[1].split(".")[0]
        sids = [s["Sid"] for s in json.loads(admin.get_policy(
            FunctionName="my-function")["Policy"])["Statement"]]
        assert sids == ["DenyPublicUrlUpdates", "CrossAccountIamUrls", "added"]
    finally:
        second.stop()

    # Editing that function's policy in the file replaces the API's version again.
    project.write_text(PROJECT.read_text().replace("Sid: CrossAccountIamUrls",
                                                   "Sid: EditedInTheFile"))
    third = start_server(tmp_path, args)
    try:
        sids = [s["Sid"] for s in json.loads(client(third).get_policy(
            FunctionName="my-function")["Policy"])["Statement"]]
        assert sids == ["DenyPublicUrlUpdates", "EditedInTheFile"]
    finally:
        third.stop()


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    args = ["--config", str(PROJECT), "--state-dir", str(tmp_path / "state")]
    server = start_server(tmp_path, args)
    admin = client(server)
    acknowledged = []
    for index in range(40):
        admin.add_permission(FunctionName="other-function", StatementId=f"s{index}",
                             Action="lambda:InvokeFunction", Principal="*")
        acknowledged.append(f"s{index}")
    server.process.kill()
    server.process.wait()

    restarted = start_server(tmp_path, args)
    try:
        policy = json.loads(client(restarted).get_policy(FunctionName="other-function")["Policy"])
        assert [s["Sid"] for s in policy["Statement"]] == acknowledged
    finally:
        restarted.stop()


def test_concurrent_add_permission_with_one_revision(server: Server) -> None:
    import concurrent.futures

    admin = client(server)
    admin.add_permission(FunctionName="other-function", StatementId="base",
                         Action="lambda:InvokeFunction", Principal="*")
    revision = admin.get_policy(FunctionName="other-function")["RevisionId"]

    def add(index: int) -> str:
        try:
            client(server).add_permission(
                FunctionName="other-function", StatementId=f"race{index}",
                Action="lambda:InvokeFunction", Principal="*", RevisionId=revision)
            return "ok"
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(add, range(8)))
    assert results.count("ok") == 1
    assert results.count("PreconditionFailedException") == 7


def test_aws_cli(server: Server) -> None:
    aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEYS["admin"][0],
           "AWS_SECRET_ACCESS_KEY": KEYS["admin"][1], "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    endpoint = ["--endpoint-url", server.base]
    added = subprocess.run(
        [aws, "lambda", "add-permission", "--function-name", "other-function",
         "--statement-id", "example0-cross-account-statement",
         "--action", "lambda:InvokeFunctionUrl", "--principal", "444455556666",
         "--function-url-auth-type", "AWS_IAM", *endpoint],
        capture_output=True, text=True, env=env, timeout=120)
    assert added.returncode == 0, added.stderr
    statement = json.loads(json.loads(added.stdout)["Statement"])
    assert statement["Principal"] == {"AWS": "arn:aws:iam::444455556666:root"}

    policy = subprocess.run([aws, "lambda", "get-policy", "--function-name", "other-function",
                             *endpoint], capture_output=True, text=True, env=env, timeout=120)
    assert policy.returncode == 0, policy.stderr
    assert "example0-cross-account-statement" in json.loads(policy.stdout)["Policy"]
