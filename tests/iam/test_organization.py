"""Organizations from the project file: SCP levels by path, org keys, and URL calls under them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fnurl import config, registry
from fnurl.gateway.authorize import authorize_url_call, call_context

MANAGEMENT = "111122223333"
WORKLOAD = "444455556666"
PAYMENTS = "555566667777"
LOOSE = "999988887777"
ALLOW_ALL = '{Version: "2012-10-17", Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}'
INVOKE_BOTH = (
    '{Version: "2012-10-17", Statement: [{Effect: Allow, '
    'Action: [lambda:InvokeFunctionUrl, lambda:InvokeFunction], Resource: "*"}]}'
)

PROJECT = f"""\
organization:
  id: o-exampleorg1
  root_id: r-ab12
  management_account: "{MANAGEMENT}"
  scps: [{ALLOW_ALL}]
  units:
    workloads:
      id: ou-ab12-workload
      scps:
        - {ALLOW_ALL}
        - Version: "2012-10-17"
          Statement:
            - Sid: OnlyOverTls
              Effect: Deny
              Action: "*"
              Resource: "*"
              Condition: {{Bool: {{aws:SecureTransport: "false"}}}}
      accounts: ["{WORKLOAD}"]
      units:
        payments:
          accounts: ["{PAYMENTS}"]
  account_scps:
    "{PAYMENTS}":
      - Version: "2012-10-17"
        Statement: [{{Effect: Allow, Action: "s3:*", Resource: "*"}}]
accounts:
  "{MANAGEMENT}":
    users:
      admin: {{policies: [{INVOKE_BOTH}]}}
  "{WORKLOAD}":
    users:
      worker: {{policies: [{INVOKE_BOTH}], tags: {{team: orders}}}}
  "{PAYMENTS}":
    roles:
      payer: {{policies: [{INVOKE_BOTH}]}}
  "{LOOSE}":
    users:
      loner: {{policies: [{INVOKE_BOTH}]}}
functions:
  orders:
    account: "{WORKLOAD}"
    handler: app.handler
    code: functions/orders
    url: {{auth_type: AWS_IAM}}
"""


def build(tmp_path: Path, text: str = PROJECT) -> registry.Registry:
    code = tmp_path / "functions" / "orders"
    code.mkdir(parents=True, exist_ok=True)
    (code / "app.py").write_text("def handler(event, context):\n    return 'ok'\n")
    (tmp_path / "fnurl.yaml").write_text(text)
    return registry.build(config.load(tmp_path / "fnurl.yaml"))


def targets(world: registry.Registry, account: str) -> list[str]:
    return [level.target for level in world.accounts[account].scps]


def test_scp_levels_follow_each_account_path(tmp_path: Path) -> None:
    world = build(tmp_path)
    payments_id = world.accounts[PAYMENTS].org_path.split("/")[-2]  # type: ignore[union-attr]

    assert targets(world, WORKLOAD) == ["root r-ab12", "OU workloads (ou-ab12-workload)"]
    # "payments" has no SCPs of its own: FullAWSAccess, a level that cannot block.
    assert targets(world, PAYMENTS) == [
        "root r-ab12", "OU workloads (ou-ab12-workload)", f"account {PAYMENTS}",
    ]
    assert targets(world, LOOSE) == ["root r-ab12"]
    assert targets(world, MANAGEMENT) == []
    assert re.fullmatch(r"ou-ab12-[a-z2-7]{8}", payments_id)


def test_org_paths_name_every_unit_down_to_the_account(tmp_path: Path) -> None:
    world = build(tmp_path)

    assert world.accounts[WORKLOAD].org_path == "o-exampleorg1/r-ab12/ou-ab12-workload/"
    assert world.accounts[PAYMENTS].org_path is not None
    assert world.accounts[PAYMENTS].org_path.startswith("o-exampleorg1/r-ab12/ou-ab12-workload/ou-")
    assert world.accounts[LOOSE].org_path == "o-exampleorg1/r-ab12/"
    assert world.accounts[MANAGEMENT].org_path == "o-exampleorg1/r-ab12/"


def test_flat_scps_stay_the_root_level_with_a_stable_derived_id(tmp_path: Path) -> None:
    text = PROJECT.replace("  root_id: r-ab12\n", "")
    text = text[: text.index("  units:")] + text[text.index("accounts:\n  \"111"):]

    first, second = build(tmp_path, text), build(tmp_path, text)

    (level,) = first.accounts[WORKLOAD].scps
    assert level.target == second.accounts[WORKLOAD].scps[0].target
    assert re.fullmatch(r"root r-[a-z2-7]{4}", level.target)
    assert level.policies[0].label == "service control policy organization.scps[0]"


def test_call_context_carries_both_sides_organization_keys(tmp_path: Path) -> None:
    world = build(tmp_path)
    worker = world.principal(f"arn:aws:iam::{WORKLOAD}:user/worker")
    payer = world.principal(f"arn:aws:iam::{PAYMENTS}:role/payer")
    orders = world.functions["orders"]

    context = call_context(world, orders, payer, source_ip="203.0.113.1")
    anonymous = call_context(world, orders, None, source_ip="203.0.113.1")

    assert worker is not None and payer is not None
    assert context["aws:PrincipalOrgID"] == "o-exampleorg1"
    assert context["aws:PrincipalOrgPaths"] == [world.accounts[PAYMENTS].org_path]
    assert context["aws:ResourceOrgID"] == "o-exampleorg1"
    assert context["aws:ResourceOrgPaths"] == ["o-exampleorg1/r-ab12/ou-ab12-workload/"]
    assert context["aws:SecureTransport"] == "true"
    assert "aws:PrincipalOrgPaths" not in anonymous and "aws:PrincipalArn" not in anonymous
    assert anonymous["aws:ResourceOrgPaths"] == ["o-exampleorg1/r-ab12/ou-ab12-workload/"]


def test_an_account_level_without_an_allow_blocks(tmp_path: Path) -> None:
    world = build(tmp_path)
    payer = world.principal(f"arn:aws:iam::{PAYMENTS}:role/payer")

    decision = authorize_url_call(world, world.functions["orders"], payer, source_ip="10.0.0.1")

    assert not decision.allowed
    assert decision.decision.blocked_by == "scp"
    assert decision.decision.reason == (
        f"no service control policy allows lambda:InvokeFunctionUrl at level account {PAYMENTS}"
    )
    # The short reason of the fnurl.auth log line names the action and the layer.
    assert decision.reason.startswith("lambda:InvokeFunctionUrl: ImplicitDeny (blocked by scp): ")


def test_secure_transport_false_reaches_a_unit_scp(tmp_path: Path) -> None:
    plain = build(tmp_path)
    insecure = build(tmp_path, "secure_transport: false\n" + PROJECT)
    caller = f"arn:aws:iam::{WORKLOAD}:user/worker"

    allowed = authorize_url_call(plain, plain.functions["orders"], plain.principal(caller),
                                 source_ip="10.0.0.1")
    denied = authorize_url_call(insecure, insecure.functions["orders"],
                                insecure.principal(caller), source_ip="10.0.0.1")

    assert allowed.allowed
    assert denied.decision.outcome == "ExplicitDeny"
    assert denied.decision.reason == (
        "explicit Deny: service control policy organization.units.workloads.scps[1], "
        "statement 'OnlyOverTls'"
    )


def test_the_management_account_is_not_governed(tmp_path: Path) -> None:
    world = build(tmp_path, "secure_transport: false\n" + PROJECT)
    admin = world.principal(f"arn:aws:iam::{MANAGEMENT}:user/admin")

    decision = authorize_url_call(world, world.functions["orders"], admin, source_ip="10.0.0.1")

    # Cross-account without a function policy: denied by the resource side, not by an SCP.
    assert decision.decision.blocked_by == "resource"


@pytest.mark.parametrize(
    ("arn", "principal", "user_id"),
    [
        (f"arn:aws:iam::{WORKLOAD}:user/worker", f"arn:aws:iam::{WORKLOAD}:user/worker",
         "AIDA"),
        (f"arn:aws:iam::{PAYMENTS}:role/payer",
         f"arn:aws:sts::{PAYMENTS}:assumed-role/payer/fnurl", "AROA"),
        (f"arn:aws:sts::{PAYMENTS}:assumed-role/payer/nightly",
         f"arn:aws:sts::{PAYMENTS}:assumed-role/payer/nightly", "AROA"),
        (f"arn:aws:iam::{LOOSE}:root", f"arn:aws:iam::{LOOSE}:root", LOOSE),
    ],
)
def test_principals_are_found_by_arn(
    tmp_path: Path, arn: str, principal: str, user_id: str
) -> None:
    found = build(tmp_path).principal(arn)

    assert found is not None
    assert found.principal.arn == principal
    assert found.user_id.startswith(user_id)
    if ":assumed-role/" in principal:
        assert found.user_id.endswith(":" + principal.rsplit("/", 1)[1])


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:iam::{WORKLOAD}:user/nobody",
        f"arn:aws:iam::{WORKLOAD}:role/payer",
        "arn:aws:iam::123456789012:root",
        "not an arn",
    ],
)
def test_unknown_principals_are_not_found(tmp_path: Path, arn: str) -> None:
    assert build(tmp_path).principal(arn) is None


def test_root_user_context_has_no_user_name(tmp_path: Path) -> None:
    world = build(tmp_path)
    root = world.principal(f"arn:aws:iam::{LOOSE}:root")

    context = call_context(world, world.functions["orders"], root, source_ip="10.0.0.1")

    assert context["aws:PrincipalType"] == "Account"
    assert context["aws:userid"] == LOOSE
    assert "aws:username" not in context
