"""STS on the control endpoint: temporary credentials that work on AWS_IAM URLs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.servers import REPO, Server, sign, start_server

PROJECT = REPO / "tests" / "control" / "project"
ROLE = "arn:aws:iam::111122223333:role/invoker"
URL_ID = "hellohellohellohellohellohello01"
KEYS = {
    "alice": ("AKIAALICEEXAMPLE0001", "alice-secret"),
    "bob": ("AKIABOBEXAMPLE000002", "bob-secret"),
    "carol": ("AKIACAROLEXAMPLE0003", "carol-secret"),
    "dave": ("AKIADAVEEXAMPLE00004", "dave-secret"),
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT / "functions", tmp_path / "functions")
    shutil.copy(PROJECT / "sts.yaml", tmp_path / "fnurl.yaml")
    return tmp_path


@pytest.fixture
def server(workdir: Path) -> Iterator[Server]:
    running = start_server(workdir)
    yield running
    running.stop()


def sts(server: Server, who: str | None = None, **credentials: str) -> Any:
    if who is not None:
        credentials = {"aws_access_key_id": KEYS[who][0], "aws_secret_access_key": KEYS[who][1]}
    return boto3.client("sts", region_name="us-east-1", endpoint_url=server.base, **credentials)


def assume(server: Server, who: str = "alice", **extra: Any) -> dict[str, str]:
    reply = sts(server, who).assume_role(RoleArn=ROLE, RoleSessionName="tests", **extra)
    credentials: dict[str, str] = reply["Credentials"]
    return credentials


def invoke(server: Server, credentials: dict[str, str], token: str | None = "same") -> int:
    url = server.path_url(URL_ID, "/")
    session_token = credentials["SessionToken"] if token == "same" else token
    headers = sign("GET", url, key=credentials["AccessKeyId"],
                   secret=credentials["SecretAccessKey"], token=session_token)
    return httpx.get(url, headers=headers, timeout=30).status_code


def test_get_caller_identity(server: Server) -> None:
    identity = sts(server, "alice").get_caller_identity()

    assert identity["Arn"] == "arn:aws:iam::111122223333:user/alice"
    assert identity["Account"] == "111122223333"
    assert identity["UserId"].startswith("AIDA")


def test_assume_role_and_call_a_url(server: Server) -> None:
    reply = sts(server, "alice").assume_role(RoleArn=ROLE, RoleSessionName="tests")
    credentials = reply["Credentials"]

    assert credentials["AccessKeyId"].startswith("ASIA")
    assert reply["AssumedRoleUser"]["Arn"] == (
        "arn:aws:sts::111122223333:assumed-role/invoker/tests")
    assert reply["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    assert reply["AssumedRoleUser"]["AssumedRoleId"].endswith(":tests")
    assert invoke(server, credentials) == 200

    session = sts(server, aws_access_key_id=credentials["AccessKeyId"],
                  aws_secret_access_key=credentials["SecretAccessKey"],
                  aws_session_token=credentials["SessionToken"]).get_caller_identity()
    assert session["Arn"] == "arn:aws:sts::111122223333:assumed-role/invoker/tests"


def test_the_session_token_is_required(server: Server) -> None:
    credentials = assume(server)

    assert invoke(server, credentials, token=None) == 403
    assert invoke(server, credentials, token="wrong") == 403


def test_authorizer_block_for_a_role_session(server: Server) -> None:
    credentials = assume(server)
    url = server.path_url(URL_ID, "/")
    headers = sign("GET", url, key=credentials["AccessKeyId"],
                   secret=credentials["SecretAccessKey"], token=credentials["SessionToken"])
    event = httpx.get(url, headers=headers, timeout=30).json()

    iam = event["requestContext"]["authorizer"]["iam"]
    assert iam["accessKey"] == credentials["AccessKeyId"]
    assert iam["userArn"] == "arn:aws:sts::111122223333:assumed-role/invoker/tests"
    assert iam["callerId"] == iam["userId"] and iam["userId"].endswith(":tests")
    assert "x-amz-security-token" in event["headers"]


@pytest.mark.parametrize(
    ("who", "allowed", "why"),
    [
        ("alice", True, "same account: trust names the account, identity allows"),
        ("bob", False, "same account: trust names the account, no identity policy"),
        ("carol", True, "cross account: trust names carol and her identity allows"),
        ("dave", False, "cross account: identity allows but the trust policy does not"),
    ],
)
def test_who_may_assume(server: Server, who: str, allowed: bool, why: str) -> None:
    refusal = refused_assume(server, who, ROLE)
    if allowed:
        assert refusal is None, why
        return
    assert refusal is not None
    assert refusal["Error"]["Code"] == "AccessDenied", why
    assert refusal["ResponseMetadata"]["HTTPStatusCode"] == 403


def refused_assume(server: Server, who: str, role_arn: str) -> Any:
    """None when `who` may assume the role, else the error response."""
    try:
        sts(server, who).assume_role(RoleArn=role_arn, RoleSessionName="s1")
    except ClientError as exc:
        return exc.response
    return None


@pytest.mark.parametrize(
    ("who", "role", "allowed"),
    [
        # A trust policy is needed in the same account too, unlike other resource policies:
        ("alice", "lambda-only", False),   # her sts:AssumeRole on * is not enough
        ("bob", "trusts-bob", True),       # named directly: no identity policy needed
        ("alice", "trusts-bob", False),
    ],
)
def test_the_trust_policy_decides_in_the_same_account_too(
    server: Server, who: str, role: str, allowed: bool
) -> None:
    refusal = refused_assume(server, who, f"arn:aws:iam::111122223333:role/{role}")
    if allowed:
        assert refusal is None
        return
    assert refusal is not None
    assert refusal["Error"]["Code"] == "AccessDenied"


def test_role_chaining_is_limited_to_an_hour(server: Server) -> None:
    first = sts(server, "alice").assume_role(
        RoleArn="arn:aws:iam::111122223333:role/chainable", RoleSessionName="first")
    chained = sts(server, aws_access_key_id=first["Credentials"]["AccessKeyId"],
                  aws_secret_access_key=first["Credentials"]["SecretAccessKey"],
                  aws_session_token=first["Credentials"]["SessionToken"])

    with pytest.raises(ClientError) as caught:
        chained.assume_role(RoleArn=ROLE, RoleSessionName="second", DurationSeconds=7200)
    assert caught.value.response["Error"]["Message"] == (
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
        "role chaining.")
    chained.assume_role(RoleArn=ROLE, RoleSessionName="second", DurationSeconds=3600)


def test_session_policy_and_tags_apply(server: Server) -> None:
    narrow = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "lambda:InvokeFunctionUrl", "Resource": "*"}]})
    assert invoke(server, assume(server, Policy=narrow)) == 403

    retagged = assume(server, Tags=[{"Key": "team", "Value": "search"}])
    assert invoke(server, retagged) == 403


def test_assume_role_validation(server: Server) -> None:
    client = sts(server, "alice")
    for kwargs, code in (
        ({"DurationSeconds": 10800}, "ValidationError"),
        ({"Policy": '{"Statement": "nope"}'}, "MalformedPolicyDocument"),
    ):
        with pytest.raises(ClientError) as caught:
            client.assume_role(RoleArn=ROLE, RoleSessionName="valid", **kwargs)
        assert caught.value.response["Error"]["Code"] == code


def test_get_session_token(server: Server) -> None:
    credentials = sts(server, "alice").get_session_token()["Credentials"]

    identity = sts(server, aws_access_key_id=credentials["AccessKeyId"],
                   aws_secret_access_key=credentials["SecretAccessKey"],
                   aws_session_token=credentials["SessionToken"]).get_caller_identity()
    assert identity["Arn"] == "arn:aws:iam::111122223333:user/alice"


def test_unknown_key_and_unsigned(server: Server) -> None:
    with pytest.raises(ClientError) as caught:
        sts(server, aws_access_key_id="AKIANOBODYEXAMPLE999",
            aws_secret_access_key="x").get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"

    response = httpx.post(server.base + "/", data={"Action": "GetCallerIdentity"}, timeout=10)
    assert response.status_code == 403
    assert b"<Code>MissingAuthenticationToken</Code>" in response.content


def test_sessions_survive_a_restart(workdir: Path) -> None:
    first = start_server(workdir)
    try:
        credentials = assume(first)
    finally:
        first.stop()

    second = start_server(workdir)
    try:
        assert invoke(second, credentials) == 200
    finally:
        second.stop()


def test_session_tags_need_tag_session(server: Server) -> None:
    with pytest.raises(ClientError) as caught:
        sts(server, "carol").assume_role(RoleArn=ROLE, RoleSessionName="tagged",
                                         Tags=[{"Key": "team", "Value": "payments"}])
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert "sts:TagSession" in caught.value.response["Error"]["Message"]


def test_unsupported_and_malformed_parameters(server: Server) -> None:
    client = sts(server, "alice")
    for kwargs in (
        {"RoleArn": ROLE, "RoleSessionName": "p",
         "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]},
        {"RoleArn": "not-an-arn-but-long-enough", "RoleSessionName": "valid"},
        {"RoleArn": ROLE, "RoleSessionName": "valid",
         "Tags": [{"Key": "team", "Value": "a"}, {"Key": "TEAM", "Value": "b"}]},
    ):
        kwargs["RoleSessionName"] = kwargs["RoleSessionName"].ljust(2, "x")
        with pytest.raises(ClientError) as caught:
            client.assume_role(**kwargs)
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, kwargs


def test_get_session_token_refuses_temporary_credentials(server: Server) -> None:
    credentials = sts(server, "alice").get_session_token()["Credentials"]
    temporary = sts(server, aws_access_key_id=credentials["AccessKeyId"],
                    aws_secret_access_key=credentials["SecretAccessKey"],
                    aws_session_token=credentials["SessionToken"])
    with pytest.raises(ClientError) as caught:
        temporary.get_session_token()
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


def test_the_root_path_signed_for_lambda_is_no_sts(server: Server) -> None:
    # A Lambda client pointed at GET / gets Lambda's answer for an unknown path, not STS's.
    url = server.base + "/"
    response = httpx.get(url, headers=sign("GET", url, key="AKIAALICEEXAMPLE0001",
                                           secret="alice-secret"), timeout=10)

    assert response.status_code == 404
    assert response.headers["x-amzn-errortype"] == "UnknownOperationException"
    assert "no function URL or API at this address" in response.json()["message"]
