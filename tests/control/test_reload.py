"""Editing the project file while `fnurl serve` runs."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from tests.servers import REPO, Server, start_server

PROJECT = REPO / "tests" / "control" / "project"
PUBLIC = "publicpublicpublicpublicpublic01"
NEW_FUNCTION = f"""
  added-later:
    account: "111122223333"
    handler: app.handler
    code: functions
    url: {{auth_type: NONE, id: {PUBLIC}, public_access: true}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT / "functions", tmp_path / "functions")
    path = tmp_path / "fnurl.yaml"
    path.write_text((PROJECT / "fnurl.yaml").read_text())
    return path


@pytest.fixture
def server(project: Path) -> Iterator[Server]:
    running = start_server(project.parent, ["--config", str(project)])
    yield running
    running.stop()


def eventually(check: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def status(server: Server) -> int:
    return httpx.get(server.path_url(PUBLIC), timeout=30).status_code


def test_a_valid_edit_applies(server: Server, project: Path) -> None:
    assert status(server) == 403   # unknown url-id

    project.write_text(project.read_text() + NEW_FUNCTION)

    assert eventually(lambda: status(server) == 200), server.log()
    assert "reloaded" in server.log()


def test_an_invalid_edit_keeps_the_running_configuration(server: Server, project: Path) -> None:
    project.write_text(project.read_text() + NEW_FUNCTION)
    assert eventually(lambda: status(server) == 200)

    project.write_text(project.read_text().replace("auth_type: NONE", "auth_type: MAYBE"))

    assert eventually(lambda: "must be NONE or AWS_IAM, got 'MAYBE'" in server.log())
    assert status(server) == 200
    assert "still serving the previous configuration" in server.log()

    # An editor that truncates before it writes: the empty file is refused too.
    project.write_text("")
    assert eventually(lambda: "the project file is empty" in server.log())
    assert status(server) == 200


def test_api_changes_survive_unrelated_edits(server: Server, project: Path) -> None:
    lam = boto3.client("lambda", region_name="us-east-1", endpoint_url=server.base,
                       aws_access_key_id="AKIAADMINEXAMPLE0001",
                       aws_secret_access_key="admin-secret")
    lam.add_permission(FunctionName="other-function", StatementId="kept",
                       Action="lambda:InvokeFunction", Principal="*")

    project.write_text(project.read_text() + NEW_FUNCTION)
    assert eventually(lambda: status(server) == 200)

    policy = json.loads(lam.get_policy(FunctionName="other-function")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["kept"]
