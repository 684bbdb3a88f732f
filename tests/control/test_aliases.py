"""Aliases and versions: a URL on a qualifier, with the alias's own policy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.servers import REPO, Server, start_server

PROJECT = REPO / "tests" / "control" / "project" / "fnurl.yaml"
ARN = "arn:aws:lambda:us-east-1:111122223333:function:other-function"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path, ["--config", str(PROJECT), "--ephemeral"])
    yield running
    running.stop()


@pytest.fixture
def lam(server: Server) -> Any:
    return boto3.client("lambda", region_name="us-east-1", endpoint_url=server.base,
                        aws_access_key_id="AKIAADMINEXAMPLE0001",
                        aws_secret_access_key="admin-secret")


def code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


def open_url(lam: Any, qualifier: str | None = None) -> None:
    extra = {"Qualifier": qualifier} if qualifier else {}
    lam.add_permission(FunctionName="other-function", StatementId="url",
                       Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE", **extra)
    lam.add_permission(FunctionName="other-function", StatementId="invoke",
                       Action="lambda:InvokeFunction", Principal="*",
                       InvokedViaFunctionUrl=True, **extra)


def call(server: Server, url: str) -> httpx.Response:
    host = url.split("//")[1].rstrip("/")
    return httpx.get(f"{server.base}/", headers={"Host": host}, timeout=30)


def test_alias_url_uses_the_alias_policy(server: Server, lam: Any) -> None:
    alias = lam.create_alias(FunctionName="other-function", Name="live",
                             FunctionVersion="$LATEST")
    assert alias["AliasArn"] == f"{ARN}:live"

    url = lam.create_function_url_config(FunctionName="other-function", Qualifier="live",
                                         AuthType="NONE")
    assert url["FunctionArn"] == f"{ARN}:live"
    base = lam.create_function_url_config(FunctionName="other-function", AuthType="NONE")
    assert url["FunctionUrl"] != base["FunctionUrl"]

    open_url(lam, "live")
    policy = json.loads(lam.get_policy(FunctionName="other-function", Qualifier="live")["Policy"])
    assert {s["Resource"] for s in policy["Statement"]} == {f"{ARN}:live"}
    assert code(lam.get_policy, FunctionName="other-function") == "ResourceNotFoundException"

    response = call(server, url["FunctionUrl"])
    assert response.status_code == 200
    assert response.json()["requestContext"]["apiId"] in url["FunctionUrl"]
    assert call(server, base["FunctionUrl"]).status_code == 403

    configs = lam.list_function_url_configs(FunctionName="other-function")["FunctionUrlConfigs"]
    assert sorted(c["FunctionArn"] for c in configs) == [ARN, f"{ARN}:live"]
    served = httpx.get(f"{server.base}/_fnurl/health", timeout=10).json()["urls"]
    assert served["other-function:live"]["url_id"] in url["FunctionUrl"]
    assert served["other-function"]["url_id"] in base["FunctionUrl"]

    lam.delete_alias(FunctionName="other-function", Name="live")
    assert call(server, url["FunctionUrl"]).status_code == 403
    # The orphaned config is listed, so it can be read and cleaned up too.
    configs = lam.list_function_url_configs(FunctionName="other-function")["FunctionUrlConfigs"]
    assert f"{ARN}:live" in [c["FunctionArn"] for c in configs]
    got = lam.get_function_url_config(FunctionName="other-function", Qualifier="live")
    assert got["FunctionUrl"] == url["FunctionUrl"]
    lam.delete_function_url_config(FunctionName="other-function", Qualifier="live")
    configs = lam.list_function_url_configs(FunctionName="other-function")["FunctionUrlConfigs"]
    assert [c["FunctionArn"] for c in configs] == [ARN]
    assert code(lam.get_function_url_config, FunctionName="other-function",
                Qualifier="live") == "ResourceNotFoundException"
    assert call(server, url["FunctionUrl"]).status_code == 403


def test_alias_errors(lam: Any) -> None:
    lam.create_alias(FunctionName="other-function", Name="live", FunctionVersion="$LATEST")

    assert code(lam.create_alias, FunctionName="other-function", Name="live",
                FunctionVersion="$LATEST") == "ResourceConflictException"
    assert code(lam.create_alias, FunctionName="other-function", Name="old",
                FunctionVersion="7") == "ResourceNotFoundException"
    assert code(lam.get_alias, FunctionName="other-function",
                Name="missing") == "ResourceNotFoundException"
    assert code(lam.create_function_url_config, FunctionName="other-function",
                Qualifier="missing", AuthType="NONE") == "ResourceNotFoundException"
    assert code(lam.add_permission, FunctionName="other-function", Qualifier="missing",
                StatementId="s", Action="lambda:InvokeFunction",
                Principal="*") == "ResourceNotFoundException"


def test_publish_version_and_alias_to_it(lam: Any) -> None:
    published = lam.publish_version(FunctionName="other-function", Description="first")
    assert published["Version"] == "1"
    assert published["FunctionArn"] == f"{ARN}:1"

    alias = lam.create_alias(FunctionName="other-function", Name="stable", FunctionVersion="1")
    assert alias["FunctionVersion"] == "1"
    updated = lam.update_alias(FunctionName="other-function", Name="stable",
                               FunctionVersion="$LATEST")
    assert updated["FunctionVersion"] == "$LATEST"
    assert [a["Name"] for a in lam.list_aliases(FunctionName="other-function")["Aliases"]] == [
        "stable"]
    versions = lam.list_versions_by_function(FunctionName="other-function")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]


def test_versions_and_aliases_are_named_as_lambda_accepts(lam: Any) -> None:
    # GetFunction, GetFunctionConfiguration and the policy calls take a qualifier in the
    # name, in Qualifier, and names as partial ARNs (spec 8.1).
    lam.publish_version(FunctionName="other-function", Description="first")
    lam.create_alias(FunctionName="other-function", Name="live", FunctionVersion="1")

    by_version = lam.get_function(FunctionName="other-function", Qualifier="1")["Configuration"]
    assert (by_version["Version"], by_version["FunctionArn"]) == ("1", f"{ARN}:1")
    by_alias = lam.get_function_configuration(FunctionName="other-function:live")
    assert (by_alias["Version"], by_alias["FunctionArn"]) == ("1", f"{ARN}:live")
    latest = lam.get_function_configuration(FunctionName="other-function", Qualifier="$LATEST")
    assert latest["Version"] == "$LATEST"
    for name in ("111122223333:function:other-function", "function:other-function", ARN):
        assert lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"] == ARN
    assert lam.get_function_configuration(
        FunctionName="111122223333:function:other-function:live")["FunctionArn"] == f"{ARN}:live"

    for missing in ("7", "gone"):
        assert code(lam.get_function, FunctionName="other-function",
                    Qualifier=missing) == "ResourceNotFoundException"
    # Another account's function: no resource policy lets this caller ask about it.
    assert code(lam.get_function, FunctionName="222233334444:function:other-function") == (
        "AccessDeniedException")

    lam.add_permission(FunctionName="other-function", Qualifier="1", StatementId="v1",
                       Action="lambda:InvokeFunction", Principal="123456789012")
    policy = json.loads(lam.get_policy(FunctionName="other-function:1")["Policy"])
    assert [s["Resource"] for s in policy["Statement"]] == [f"{ARN}:1"]
    assert "Policy" not in _policy_or_empty(lam, "other-function")
    lam.remove_permission(FunctionName="111122223333:function:other-function", Qualifier="1",
                          StatementId="v1")
    assert code(lam.get_policy, FunctionName="other-function",
                Qualifier="1") == "ResourceNotFoundException"
    assert code(lam.add_permission, FunctionName="other-function", Qualifier="9",
                StatementId="v9", Action="lambda:InvokeFunction",
                Principal="123456789012") == "ResourceNotFoundException"


def _policy_or_empty(lam: Any, name: str) -> dict[str, Any]:
    try:
        return dict(lam.get_policy(FunctionName=name))
    except ClientError:
        return {}


def test_a_caller_who_may_not_ask_is_denied_whether_or_not_the_function_exists(
    server: Server,
) -> None:
    # AWS authorizes before it looks, so a 404 never tells an outsider what exists.
    member = boto3.client("lambda", region_name="us-east-1", endpoint_url=server.base,
                          aws_access_key_id="AKIAMEMBEREXAMPLE003",
                          aws_secret_access_key="member-secret")
    reader = boto3.client("lambda", region_name="us-east-1", endpoint_url=server.base,
                          aws_access_key_id="AKIAREADEREXAMPLE002",
                          aws_secret_access_key="reader-secret")
    elsewhere = "arn:aws:lambda:us-east-1:111122223333:function:"

    for name in ("other-function", "no-such-function"):
        assert code(member.get_policy, FunctionName=elsewhere + name) == "AccessDeniedException"
        assert code(member.get_function_url_config,
                    FunctionName=elsewhere + name) == "AccessDeniedException"
        assert code(member.create_function_url_config, FunctionName=elsewhere + name,
                    AuthType="AWS_IAM") == "AccessDeniedException"
    # In its own account, a caller allowed to read learns that a function is missing ...
    assert code(reader.get_function,
                FunctionName="no-such-function") == "ResourceNotFoundException"
    # ... and one that may not write is denied, missing function or alias or not.
    assert code(reader.add_permission, FunctionName="no-such-function", StatementId="s",
                Action="lambda:InvokeFunction", Principal="*") == "AccessDeniedException"
    assert code(reader.create_function_url_config, FunctionName="other-function",
                Qualifier="missing", AuthType="NONE") == "AccessDeniedException"
