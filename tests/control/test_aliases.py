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

    lam.delete_alias(FunctionName="other-function", Name="live")
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
