"""`fnurl explain`, the real command: why each demo call is allowed or denied, in one screen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCREEN = 30  # lines: what a default terminal shows without scrolling

PROJECT = """\
organization:
  id: o-exampleorg1
  root_id: r-ab12
  management_account: "111122223333"
  units:
    workloads:
      id: ou-ab12-workload
      accounts: ["444455556666"]
      scps:
        - Version: "2012-10-17"
          Statement:
            - {Effect: Allow, Action: "*", Resource: "*"}
            - {Sid: NoGetFunction, Effect: Deny, Action: lambda:GetFunction, Resource: "*"}
accounts:
  "111122223333":
    users:
      alice:
        access_keys: [{id: AKIAALICEEXAMPLE0001, secret: alice-secret}]
        policies:
          - Version: "2012-10-17"
            Statement:
              - Sid: FromOffice
                Effect: Allow
                Action: [lambda:InvokeFunctionUrl, lambda:InvokeFunction]
                Resource: "*"
                Condition: {IpAddress: {aws:SourceIp: 203.0.113.0/24}}
  "444455556666":
    roles:
      partner:
        policies:
          - Version: "2012-10-17"
            Statement: [{Effect: Allow, Action: "lambda:*", Resource: "*"}]
functions:
  orders:
    account: "111122223333"
    handler: app.handler
    code: functions/orders
    url: {auth_type: AWS_IAM}
    policy:
      - Sid: Partner
        Effect: Allow
        Principal: {AWS: arn:aws:iam::444455556666:role/partner}
        Action: [lambda:InvokeFunctionUrl, lambda:InvokeFunction, lambda:GetFunction]
        Condition:
          ForAnyValue:StringLike:
            aws:PrincipalOrgPaths: o-exampleorg1/r-ab12/ou-ab12-workload/*
  plain:
    account: "111122223333"
    handler: app.handler
    code: functions/orders
"""


def explain(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fnurl", "explain", *args],
        cwd=cwd, capture_output=True, text=True, timeout=60,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "functions" / "orders").mkdir(parents=True)
    (tmp_path / "functions" / "orders" / "app.py").write_text(
        "def handler(event, context):\n    return 'ok'\n"
    )
    (tmp_path / "fnurl.yaml").write_text(PROJECT)
    return tmp_path


# Each demo case: who calls which URL, the verdict line, and what the trace must say.
DEMO_CASES = [
    ("public", [], "Allowed", ["statement 'FunctionURLAllowInvokeAction' grants"]),
    ("locked", [], "403 Forbidden: lambda:InvokeFunctionUrl is ImplicitDeny",
     ["anonymous caller and no resource-based policy", "blocked by: the resource-based policy"]),
    ("single", [], "403 Forbidden: lambda:InvokeFunction is ImplicitDeny",
     ["Hint: grant lambda:InvokeFunction too", "(1 statement for other actions)"]),
    ("legacy", [], "Allowed", ["lambda:InvokeFunctionUrl only (legacy_url_permissions"]),
    ("private", ["--anonymous"], "403 Forbidden: an AWS_IAM URL refuses unsigned requests", []),
    ("private", ["--access-key", "AKIAALICEEXAMPLE0001"], "Allowed",
     ["statement 'InvokePrivateUrl' allows lambda:InvokeFunction"]),
    ("private", ["--access-key", "AKIABOBEXAMPLE000002"],
     "403 Forbidden: lambda:InvokeFunctionUrl is ImplicitDeny",
     ["blocked by: identity-based policies", "identity-based policies: none",
      "Principal arn:aws:iam::444455556666:role/example does not match "
      "arn:aws:iam::111122223333:user/bob"]),
    ("private", ["--principal", "arn:aws:iam::444455556666:role/example"], "Allowed",
     ["allowed cross-account"]),
    ("private", ["--access-key", "AKIAAUDITOREXAMPL004"],
     "403 Forbidden: lambda:InvokeFunctionUrl is ImplicitDeny",
     ["blocked by: the resource-based policy",
      "session of role arn:aws:iam::444455556666:role/auditor"]),
]


@pytest.mark.parametrize(
    ("function", "caller", "verdict", "says"),
    DEMO_CASES,
    ids=[f"{case[0]}{'-' + case[1][-1] if case[1] else ''}" for case in DEMO_CASES],
)
def test_each_demo_case_is_explained_in_one_screen(
    tmp_path: Path, function: str, caller: list[str], verdict: str, says: list[str]
) -> None:
    result = explain("--function", function, *caller, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith(verdict) for line in lines[:6]), result.stdout
    for text in says:
        assert text in result.stdout, f"{text!r} missing from:\n{result.stdout}"
    assert len(lines) <= SCREEN, result.stdout


def test_failed_condition_shows_both_values(project: Path) -> None:
    result = explain("--function", "orders", "--access-key", "AKIAALICEEXAMPLE0001",
                     cwd=project)

    assert "403 Forbidden: lambda:InvokeFunctionUrl is ImplicitDeny" in result.stdout
    assert ("Condition IpAddress aws:SourceIp '203.0.113.0/24' is false: the request has "
            "'127.0.0.1'") in result.stdout


def test_context_option_replaces_a_key(project: Path) -> None:
    result = explain("--function", "orders", "--access-key", "AKIAALICEEXAMPLE0001",
                     "--context", "aws:SourceIp=203.0.113.9", cwd=project)

    assert "Allowed: the URL answers" in result.stdout, result.stdout


def test_organization_path_reaches_resource_policy_conditions(project: Path) -> None:
    role = explain("--function", "orders", "--principal",
                   "arn:aws:iam::444455556666:role/partner", cwd=project)
    other_session = explain("--function", "orders", "--principal",
                            "arn:aws:sts::444455556666:assumed-role/partner/nightly",
                            "--context", "aws:PrincipalOrgPaths=o-exampleorg1/r-ab12/",
                            cwd=project)

    assert "Allowed" in role.stdout, role.stdout
    assert "Caller: arn:aws:sts::444455556666:assumed-role/partner/nightly" in other_session.stdout
    assert ("ForAnyValue:StringLike aws:PrincipalOrgPaths "
            "'o-exampleorg1/r-ab12/ou-ab12-workload/*' is false: the request has "
            "'o-exampleorg1/r-ab12/'") in other_session.stdout


def test_action_option_explains_one_request_and_names_the_scp(project: Path) -> None:
    result = explain("--function", "orders", "--principal",
                     "arn:aws:iam::444455556666:role/partner", "--action", "lambda:GetFunction",
                     cwd=project)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "lambda:GetFunction: ExplicitDeny" in lines
    assert "  blocked by: service control policies" in lines
    assert ("    service control policy organization.units.workloads.scps[0] "
            "(level OU workloads (ou-ab12-workload))") in lines
    assert "      Deny statement 'NoGetFunction': applies" in lines


def test_root_user_of_the_management_account_has_full_access(project: Path) -> None:
    result = explain("--function", "plain", "--principal", "arn:aws:iam::111122223333:root",
                     "--action", "lambda:DeleteFunction", cwd=project)

    assert "lambda:DeleteFunction: Allow" in result.stdout
    assert "has full access in its account" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--function", "nope", "--anonymous"], "no function 'nope'"),
        (["--function", "orders", "--anonymous", "--access-key", "AKIAALICEEXAMPLE0001"],
         "give only one of --principal, --access-key and --anonymous"),
        (["--function", "orders", "--principal", "arn:aws:iam::111122223333:user/zed"],
         "no principal arn:aws:iam::111122223333:user/zed"),
        (["--function", "orders", "--access-key", "AKIAUNKNOWNKEY000001"],
         "no access key AKIAUNKNOWNKEY000001"),
        (["--function", "orders"], "say who calls"),
        (["--function", "orders", "--anonymous", "--context", "nokey"],
         "--context takes KEY=VALUE"),
        (["--function", "plain", "--anonymous"], "function plain has no URL"),
    ],
)
def test_usage_errors_are_named(project: Path, args: list[str], message: str) -> None:
    result = explain(*args, cwd=project)

    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_broken_project_file_lists_its_problems(tmp_path: Path) -> None:
    (tmp_path / "fnurl.yaml").write_text("functions: {f: {handler: 3}}\n")

    result = explain("--function", "f", "--anonymous", cwd=tmp_path)

    assert result.returncode == 1
    assert "error: fnurl.yaml" in result.stderr


ALIAS_PROJECT = """\
accounts:
  "111122223333":
    users:
      admin:
        access_keys: [{id: AKIAADMINEXAMPLE0001, secret: admin-secret}]
        policies:
          - Version: "2012-10-17"
            Statement: [{Effect: Allow, Action: "lambda:*", Resource: "*"}]
functions:
  plain:
    account: "111122223333"
    handler: app.handler
    code: functions/orders
"""


def test_an_alias_url_is_explained_with_the_alias_policy(project: Path) -> None:
    import boto3

    from tests.servers import start_server

    (project / "fnurl.yaml").write_text(ALIAS_PROJECT)
    args = ["--config", str(project / "fnurl.yaml"), "--state-dir", str(project / "state")]
    server = start_server(project, args)
    try:
        lam = boto3.client("lambda", region_name="us-east-1", endpoint_url=server.base,
                           aws_access_key_id="AKIAADMINEXAMPLE0001",
                           aws_secret_access_key="admin-secret")
        lam.create_alias(FunctionName="plain", Name="live", FunctionVersion="$LATEST")
        lam.create_function_url_config(FunctionName="plain:live", AuthType="NONE")
        for sid, action in (("url", "lambda:InvokeFunctionUrl"), ("fn", "lambda:InvokeFunction")):
            lam.add_permission(FunctionName="plain:live", StatementId=sid, Action=action,
                               Principal="*")
    finally:
        server.stop()

    state = ["--state-dir", str(project / "state")]
    for name in ("plain:live", "arn:aws:lambda:us-east-1:111122223333:function:plain:live"):
        result = explain("--function", name, "--anonymous", *state, cwd=project)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].startswith("NONE URL of function plain:live"), result.stdout
        assert any(line.startswith("Allowed") for line in lines[:6]), result.stdout
        assert "resource policy of plain:live, statement 'url'" in result.stdout

    missing = explain("--function", "plain:gone", "--anonymous", *state, cwd=project)
    assert missing.returncode != 0
    assert "plain:live" in missing.stderr
