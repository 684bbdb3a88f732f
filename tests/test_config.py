"""The project file contract (DESIGN.md) and `fnurl check`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fnurl import config
from fnurl.cli import demo_project_path

FULL = """\
region: us-east-1
organization:
  id: o-exampleorg1
  scps:
    - Version: "2012-10-17"
      Statement: [{Effect: Allow, Action: "*", Resource: "*"}]
accounts:
  "111122223333":
    legacy_url_permissions: false
    users:
      alice:
        access_keys: [{id: AKIAALICEEXAMPLE0001, secret: alice-secret}]
        policies:
          - Version: "2012-10-17"
            Statement: [{Effect: Allow, Action: "lambda:*", Resource: "*"}]
        permissions_boundary:
          Version: "2012-10-17"
          Statement: [{Effect: Allow, Action: "lambda:*", Resource: "*"}]
    roles:
      deployer:
        trust_policy:
          Version: "2012-10-17"
          Statement:
            - {Effect: Allow, Principal: {AWS: "arn:aws:iam::111122223333:root"},
               Action: "sts:AssumeRole"}
        policies:
          - Version: "2012-10-17"
            Statement: [{Effect: Allow, Action: "lambda:*", Resource: "*"}]
        access_keys: [{id: AKIADEPLOYEREXAMPLE1, secret: deployer-secret}]
functions:
  hello:
    account: "111122223333"
    handler: app.handler
    code: ./functions/hello
    environment: {GREETING: hi}
    timeout: 3
    memory: 128
    reserved_concurrency: 10
    url:
      auth_type: AWS_IAM
      id: hellohellohellohellohellohello01
      invoke_mode: BUFFERED
      cors: {allow_origins: ["*"], allow_methods: ["GET"], allow_headers: [], expose_headers: [],
             max_age: 0, allow_credentials: false}
      public_access: false
    policy:
      - Sid: Public
        Effect: Allow
        Principal: "*"
        Action: lambda:InvokeFunctionUrl
        Resource: arn:aws:lambda:us-east-1:111122223333:function:hello
"""


def write_project(tmp_path: Path, text: str) -> Path:
    code = tmp_path / "functions" / "hello"
    code.mkdir(parents=True, exist_ok=True)
    (code / "app.py").write_text("def handler(event, context):\n    return 'hi'\n")
    path = tmp_path / "fnurl.yaml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        config.load(write_project(tmp_path, text))
    return [str(p) for p in caught.value.problems]


def test_every_contract_key_loads(tmp_path: Path) -> None:
    loaded = config.load(write_project(tmp_path, FULL))
    hello = loaded.project.functions["hello"]

    assert hello.url is not None and hello.url.id == "hellohellohellohellohellohello01"
    assert hello.url.cors is not None and hello.url.cors.allow_origins == ["*"]
    assert loaded.code_dir(hello) == (tmp_path / "functions" / "hello").resolve()


def test_the_bundled_demo_loads() -> None:
    loaded = config.load(demo_project_path())

    assert {"public", "locked", "single", "legacy", "private"} <= set(loaded.project.functions)


def test_omitted_url_id_is_stable_and_well_formed(tmp_path: Path) -> None:
    text = FULL.replace("      id: hellohellohellohellohellohello01\n", "")
    first = config.load(write_project(tmp_path, text)).project.functions["hello"].url
    second = config.load(write_project(tmp_path, text)).project.functions["hello"].url

    assert first is not None and second is not None and first.id == second.id
    assert first.id is not None and len(first.id) == 32 and first.id.isalnum()
    assert first.id == first.id.lower()
    assert first.id != config.derive_url_id("111122223333", "us-east-1", "other")


def test_bad_auth_type_is_located(tmp_path: Path) -> None:
    found = problems(tmp_path, FULL.replace("auth_type: AWS_IAM", "auth_type: MAYBE"))

    assert len(found) == 1
    assert "functions.hello.url.auth_type: must be NONE or AWS_IAM, got 'MAYBE'" in found[0]
    assert found[0].startswith(f"{tmp_path / 'fnurl.yaml'}:")


def test_unknown_keys_are_named(tmp_path: Path) -> None:
    text = FULL.replace("    timeout: 3\n", "    timeout: 3\n    timout: 4\n")
    found = problems(tmp_path, text.replace("region: us-east-1\n", "region: us-east-1\nextra: 1\n"))

    assert any("functions.hello.timout: unknown key 'timout'" in p for p in found)
    assert any("extra: unknown key 'extra'" in p for p in found)


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = FULL.replace("timeout: 3", "timeout: 0").replace("memory: 128", "memory: 64")
    found = problems(tmp_path, text)

    assert any("functions.hello.timeout" in p for p in found)
    assert any("functions.hello.memory" in p for p in found)


def warnings(tmp_path: Path, text: str) -> list[str]:
    return [str(w) for w in config.load(write_project(tmp_path, text)).warnings]


def test_missing_handler_module_names_the_path_searched(tmp_path: Path) -> None:
    found = warnings(tmp_path, FULL.replace("handler: app.handler", "handler: missing.handler"))

    assert "functions.hello.handler: module 'missing' not found" in found[0]
    assert str(tmp_path / "functions" / "hello" / "missing.py") in found[0]
    assert "fails (502) until it is fixed" in found[0]


def test_missing_handler_function(tmp_path: Path) -> None:
    found = warnings(tmp_path, FULL.replace("handler: app.handler", "handler: app.nothere"))

    assert "has no function 'nothere'" in found[0]


def test_handler_syntax_error_is_a_warning_not_a_refusal(tmp_path: Path) -> None:
    # Lambda takes code it cannot import; only calls to that function fail.
    path = write_project(tmp_path, FULL)
    (tmp_path / "functions" / "hello" / "app.py").write_text("def handler(:\n")

    loaded = config.load(path)

    assert "hello" in loaded.project.functions
    assert any("syntax error" in str(w) for w in loaded.warnings)


def test_code_pointing_at_a_file_says_so(tmp_path: Path) -> None:
    path = write_project(tmp_path, FULL)
    (tmp_path / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    found = problems(tmp_path, path.read_text().replace("code: ./functions/hello",
                                                         "code: handler.py"))

    assert any("handler.py is a file; code is the directory" in p for p in found)


def test_malformed_policy_is_located(tmp_path: Path) -> None:
    found = problems(tmp_path, FULL.replace("Effect: Allow, Action: \"lambda:*\"",
                                            "Effect: Maybe, Action: \"lambda:*\"", 1))

    assert len(found) == 1
    assert "accounts.111122223333.users.alice.policies[0]" in found[0]
    assert "Effect" in found[0]


def test_malformed_function_statement_is_located(tmp_path: Path) -> None:
    found = problems(tmp_path, FULL.replace("Principal: \"*\"\n        Action",
                                            "Principal: \"*\"\n        Acton"))

    assert any("functions.hello.policy" in p for p in found)


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    found = problems(tmp_path, "functions:\n  hello: [\n")

    assert "not valid YAML" in found[0]
    assert f"{tmp_path / 'fnurl.yaml'}:" in found[0]


def test_check_command(tmp_path: Path) -> None:
    good = write_project(tmp_path, FULL)
    result = subprocess.run([sys.executable, "-m", "fnurl", "check", str(good)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout

    good.write_text(FULL.replace("auth_type: AWS_IAM", "auth_type: MAYBE"))
    result = subprocess.run([sys.executable, "-m", "fnurl", "check", str(good)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "functions.hello.url.auth_type: must be NONE or AWS_IAM, got 'MAYBE'" in result.stderr


def test_serve_refuses_a_broken_file(tmp_path: Path) -> None:
    path = write_project(tmp_path, FULL.replace("auth_type: AWS_IAM", "auth_type: MAYBE"))
    result = subprocess.run([sys.executable, "-m", "fnurl", "serve", "--config", str(path)],
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert "auth_type" in result.stderr


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, FULL + "  hello:\n    handler: app.handler\n")

    assert "key 'hello' appears twice" in found[0]


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "fnurl.yaml"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)

    assert "not UTF-8" in str(caught.value)


def test_recursive_alias(tmp_path: Path) -> None:
    found = problems(tmp_path, "a: &a [*a]\n")

    assert "nests too deeply" in found[0]


def test_missing_code_directory_is_reported_under_code(tmp_path: Path) -> None:
    found = problems(tmp_path, FULL.replace("code: ./functions/hello", "code: ./nowhere"))

    assert "functions.hello.code: code directory" in found[0]


def test_unquoted_account_id_gets_a_hint_when_yaml_changed_it(tmp_path: Path) -> None:
    # A leading zero makes YAML read another number (here an octal one): quoting is the fix.
    found = problems(tmp_path, FULL.replace('account: "111122223333"', "account: 011122223333"))

    assert "must be quoted" in found[0]


def test_unquoted_twelve_digit_account_ids_are_read_as_ids(tmp_path: Path) -> None:
    # As unquoted keys under `accounts:` are, so values are too.
    loaded = config.load(write_project(
        tmp_path, FULL.replace('account: "111122223333"', "account: 111122223333")))

    assert loaded.project.functions["hello"].account == "111122223333"


def test_never_matching_principal_is_a_warning(tmp_path: Path) -> None:
    loaded = config.load(write_project(tmp_path, FULL.replace('Principal: "*"',
                                                              "Principal: {AWS: notanarn}")))

    assert len(loaded.warnings) == 1
    assert "functions.hello.policy[0].Principal.AWS" in str(loaded.warnings[0])
    assert "never matches" in str(loaded.warnings[0])


ORGANIZATION = """\
organization:
  id: o-exampleorg1
  root_id: r-ab12
  management_account: "111122223333"
  scps:
    - Version: "2012-10-17"
      Statement: [{Effect: Allow, Action: "*", Resource: "*"}]
  units:
    workloads:
      id: ou-ab12-workload
      scps:
        - Version: "2012-10-17"
          Statement: [{Effect: Allow, Action: "lambda:*", Resource: "*"}]
      accounts: ["444455556666"]
      units:
        payments:
          accounts: ["555566667777"]
  account_scps:
    "555566667777":
      - Version: "2012-10-17"
        Statement: [{Effect: Deny, Action: "lambda:DeleteFunction", Resource: "*"}]
secure_transport: false
accounts:
  "111122223333": {}
  "444455556666": {}
  "555566667777": {}
functions:
  hello:
    account: "111122223333"
    handler: app.handler
    code: ./functions/hello
"""


def test_organization_units_and_per_level_scps_load(tmp_path: Path) -> None:
    loaded = config.load(write_project(tmp_path, ORGANIZATION))
    org = loaded.project.organization

    assert org is not None and org.root_id == "r-ab12"
    assert org.units["workloads"].units["payments"].accounts == ["555566667777"]
    assert len(org.account_scps["555566667777"]) == 1
    assert loaded.project.secure_transport is False
    assert not loaded.warnings


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('accounts: ["555566667777"]', 'accounts: ["999999999999"]',
         "organization.units.workloads.units.payments.accounts[0]: account '999999999999' is "
         "not listed under accounts"),
        ('accounts: ["555566667777"]', 'accounts: ["444455556666"]',
         "organization.units.workloads.units.payments.accounts[0]: account 444455556666 is "
         "already in unit workloads"),
        ("id: ou-ab12-workload", "id: ou-1",
         "organization.units.workloads.id: must look like ou-ab12-abcdefgh"),
        ("root_id: r-ab12", "root_id: root",
         "organization.root_id: must look like r-ab12 (r- and 4-32 of [0-9a-z])"),
        ('"555566667777":\n      - Version', '"999999999999":\n      - Version',
         "organization.account_scps.999999999999: account '999999999999' is not listed"),
        ("Effect: Deny, Action", "Effect: Denied, Action",
         "organization.account_scps.555566667777[0].Statement[0].Effect: Syntax errors"),
        ("        payments:", "        pay/ments:",
         "organization.units.workloads.units.pay/ments: organizational unit names are 1-128"),
        ("secure_transport: false", "secure_transport: maybe", "secure_transport: "),
    ],
)
def test_organization_problems_are_located(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    assert old in ORGANIZATION

    found = problems(tmp_path, ORGANIZATION.replace(old, new))

    assert any(problem in p for p in found), found


def test_scps_on_the_management_account_are_a_warning(tmp_path: Path) -> None:
    text = ORGANIZATION.replace('management_account: "111122223333"',
                                'management_account: "555566667777"')

    loaded = config.load(write_project(tmp_path, text))

    assert len(loaded.warnings) == 1
    assert ("organization.account_scps.555566667777: SCPs do not apply to the management "
            "account") in str(loaded.warnings[0])


def test_reserved_environment_variables_are_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, FULL.replace("environment: {GREETING: hi}",
                                            "environment: {GREETING: hi, AWS_REGION: eu-west-1}"))

    assert "functions.hello.environment: Lambda reserves these variables" in found[0]
    assert "AWS_REGION" in found[0]


def test_environment_names_values_and_size_are_lambdas(tmp_path: Path) -> None:
    base = FULL.replace("environment: {GREETING: hi}", "environment: {}")
    assert "environment: {}" in base

    found = problems(tmp_path, base.replace("environment: {}", "environment: {LIST: [1, 2]}"))
    assert found == [f"{tmp_path / 'fnurl.yaml'}:{found[0].split(':')[1]}: "
                     "functions.hello.environment.LIST: must be a string, number or boolean, "
                     "got [1, 2]"]

    found = problems(tmp_path, base.replace("environment: {}", "environment: {NO: ~}"))
    assert any("environment.NO: is empty (null)" in p for p in found)

    found = problems(tmp_path, base.replace("environment: {}", 'environment: {"1ST": x, A: y}'))
    assert any("environment.1ST: Lambda's variable names" in p for p in found)
    assert any("environment.A: Lambda's variable names" in p for p in found)

    found = problems(tmp_path, base.replace("environment: {}",
                                            f"environment: {{BIG: {'x' * 4090}}}"))
    assert any("4KB" in p or "limit is 4096 bytes" in p for p in found)

    loaded = config.load(write_project(tmp_path, base.replace(
        "environment: {}", "environment: {ON: true, NUM: 3, FLT: 1.5}\n    runtime: nodejs20.x")))
    assert dict(loaded.project.functions["hello"].environment) == {
        "ON": "true", "NUM": "3", "FLT": "1.5"}
    assert any("nodejs20.x handler cannot run here" in str(w) for w in loaded.warnings)

    # Unquoted values are the text written, not what YAML 1.1 makes of them.
    written = "{PY: 3.10, MODE: 0777, HEX: 0x1F, AT: 12:30, DEBUG: yes, DAY: 2020-01-01}"
    loaded = config.load(write_project(tmp_path, base.replace(
        "environment: {}", f"environment: {written}")))
    assert dict(loaded.project.functions["hello"].environment) == {
        "PY": "3.10", "MODE": "0777", "HEX": "0x1F", "AT": "12:30", "DEBUG": "yes",
        "DAY": "2020-01-01"}


def test_surely_unmeant_url_settings_are_warnings(tmp_path: Path) -> None:
    text = FULL.replace("auth_type: AWS_IAM", "auth_type: NONE").replace(
        "public_access: false", "public_access: true").replace(
        "Sid: Public", "Sid: FunctionURLAllowPublicAccess").replace(
        "account: \"111122223333\"\n    handler", "account: \"111122223333\"\n    region: "
        "il-central-1\n    handler").replace("us-east-1:111122223333:function:hello",
                                                "il-central-1:111122223333:function:hello")
    found = warnings(tmp_path, text)

    assert any("url.public_access: policy already has a statement FunctionURLAllowPublicAccess"
               in w for w in found)
    assert any("AWS does not offer function URLs in il-central-1" in w for w in found)


@pytest.mark.parametrize("text", ["", "\n", "# nothing yet\n", "---\n"])
def test_an_empty_project_file_is_refused(tmp_path: Path, text: str) -> None:
    found = problems(tmp_path, text)

    assert found == [f"{tmp_path / 'fnurl.yaml'}: the project file is empty (it needs at least "
                     "accounts: and functions:)"]


def test_every_broken_statement_is_named_at_its_own_line(tmp_path: Path) -> None:
    policy = (
        '          - Version: "2012-10-17"\n'
        "            Statement:\n"
        "              - {Effect: Allow, Action: 'lambda*', Resource: '*'}\n"
        "              - {Effect: Allow, Action: 'lambda:*', Resource: '*'}\n"
        "              - {Effect: Allow, Resource: '*'}\n"
    )
    text = FULL.replace(
        '          - Version: "2012-10-17"\n'
        '            Statement: [{Effect: Allow, Action: "lambda:*", Resource: "*"}]\n'
        "        permissions_boundary:", policy + "        permissions_boundary:", 1)
    assert text != FULL
    found = problems(tmp_path, text)
    path = tmp_path / "fnurl.yaml"
    line = text.splitlines().index("              - {Effect: Allow, Action: 'lambda*', "
                                   "Resource: '*'}") + 1

    assert len(found) == 2
    assert found[0].startswith(f"{path}:{line}: accounts.111122223333.users.alice.policies[0]"
                               ".Statement[0].Action: ")
    assert found[1].startswith(f"{path}:{line + 2}: accounts.111122223333.users.alice"
                               ".policies[0].Statement[2]: ")


def test_a_repeated_sid_is_named_beside_other_broken_statements(tmp_path: Path) -> None:
    text = FULL.replace(
        "      - Sid: Public\n",
        "      - {Sid: Public, Effect: Maybe, Principal: '*', Action: lambda:InvokeFunction}\n"
        "      - Sid: Public\n")
    found = problems(tmp_path, text)

    assert any("functions.hello.policy[0].Effect" in p for p in found)
    assert any("functions.hello.policy[1].Sid: Statement IDs (SID) in a single policy must be "
               "unique. 'Public' repeats." in p for p in found)
