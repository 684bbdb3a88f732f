"""A function's execution role: its session is in the handler's environment, as on Lambda."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from fnurl import config
from tests.servers import free_port, start_server

HANDLER = """
import os
import boto3
from botocore.exceptions import ClientError

def handler(event, context):
    endpoint = os.environ["FNURL_ENDPOINT"]
    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
    lam = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1")
    reply = {"arn": sts.get_caller_identity()["Arn"],
             "key": os.environ.get("AWS_ACCESS_KEY_ID", "")[:4]}
    reply["own"] = lam.get_function(FunctionName="whoami")["Configuration"]["FunctionName"]
    try:
        lam.get_function(FunctionName="other")
        reply["other"] = "allowed"
    except ClientError as exc:
        reply["other"] = exc.response["Error"]["Code"]
    return reply
"""

PROJECT = """
accounts:
  "111122223333":
    roles:
      whoami-role:
        trust_policy:
          Version: "2012-10-17"
          Statement:
            - {{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}},
               Action: "sts:AssumeRole"}}
        policies:
          - Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: lambda:GetFunction
                Resource: arn:aws:lambda:us-east-1:111122223333:function:whoami
functions:
  whoami:
    code: code
    handler: app.handler
    role: arn:aws:iam::111122223333:role/whoami-role
    environment: {{FNURL_ENDPOINT: "http://127.0.0.1:{port}"}}
    url: {{auth_type: NONE, public_access: true}}
  other:
    code: code
    handler: app.handler
    environment: {{FNURL_ENDPOINT: "http://127.0.0.1:{port}"}}
    url: {{auth_type: NONE, public_access: true}}
"""


def test_the_handler_runs_as_its_execution_roles_session(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text(HANDLER)
    port = free_port()
    (tmp_path / "fnurl.yaml").write_text(PROJECT.format(port=port))
    server = start_server(tmp_path, ["--ephemeral"], port=port)
    try:
        urls = httpx.get(f"{server.base}/_fnurl/health", timeout=10).json()["urls"]
        response = httpx.get(server.path_url(urls["whoami"]["url_id"]), timeout=30)
        assert response.status_code == 200, server.log()
        seen = json.loads(response.content)

        assert seen == {
            "arn": "arn:aws:sts::111122223333:assumed-role/whoami-role/whoami",
            "key": "ASIA", "own": "whoami", "other": "AccessDeniedException"}
        # A function without a role gets no credentials at all.
        bare = httpx.get(server.path_url(urls["other"]["url_id"]), timeout=30)
        assert bare.status_code == 502
        assert "NoCredentialsError" in server.log() or "Unable to locate credentials" in (
            server.log())
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("role", "message"),
    [
        ("arn:aws:iam::111122223333:role/missing", "is not a role under accounts"),
        ("arn:aws:iam::444455556666:role/elsewhere", "must be in the function's account"),
    ],
)
def test_the_role_must_exist_in_the_functions_account(tmp_path: Path, role: str,
                                                     message: str) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    text = PROJECT.format(port=9).replace("arn:aws:iam::111122223333:role/whoami-role", role)
    text = text.replace('accounts:\n', 'accounts:\n  "444455556666":\n    roles:\n'
                        '      elsewhere: {}\n', 1)
    (tmp_path / "fnurl.yaml").write_text(text)

    with pytest.raises(config.ConfigError) as caught:
        config.load(tmp_path / "fnurl.yaml")

    assert any("functions.whoami.role: " in str(p) and message in str(p)
               for p in caught.value.problems), caught.value.problems


def test_a_role_lambda_may_not_assume_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    good = config.load(_write(tmp_path, PROJECT.format(port=9)))
    text = PROJECT.format(port=9).replace("Service: lambda.amazonaws.com",
                                          'AWS: "arn:aws:iam::111122223333:root"')
    bad = config.load(_write(tmp_path, text))

    assert not any("functions.whoami.role" in str(w) for w in good.warnings)
    assert any("functions.whoami.role: the role's trust policy does not let "
               "lambda.amazonaws.com assume it" in str(w) for w in bad.warnings)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fnurl.yaml"
    path.write_text(text)
    return path
