"""`fnurl explain` sees what the API changed, as the running server does."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import boto3

from tests.servers import REPO, start_server

PROJECT = REPO / "tests" / "control" / "project"


def test_explain_reads_the_state_store(tmp_path: Path) -> None:
    shutil.copytree(PROJECT / "functions", tmp_path / "functions")
    project = tmp_path / "fnurl.yaml"
    project.write_text((PROJECT / "fnurl.yaml").read_text())
    server = start_server(tmp_path, ["--config", str(project)])
    try:
        lam = boto3.client("lambda", region_name="us-east-1", endpoint_url=server.base,
                           aws_access_key_id="AKIAADMINEXAMPLE0001",
                           aws_secret_access_key="admin-secret")
        lam.create_function_url_config(FunctionName="other-function", AuthType="AWS_IAM")
        for sid, action in (("u", "lambda:InvokeFunctionUrl"), ("i", "lambda:InvokeFunction")):
            lam.add_permission(FunctionName="other-function", StatementId=sid, Action=action,
                               Principal="arn:aws:iam::111122223333:user/reader")
    finally:
        server.stop()
    before = (tmp_path / ".fnurl" / "fnurl.db").read_bytes()

    result = subprocess.run(
        [sys.executable, "-m", "fnurl", "explain", "--config", str(project), "--function",
         "other-function", "--access-key", "AKIAREADEREXAMPLE002"],
        capture_output=True, text=True, timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "Allowed" in result.stdout
    assert (tmp_path / ".fnurl" / "fnurl.db").read_bytes() == before
