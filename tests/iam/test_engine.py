"""The decision procedure beyond the shared cases: layers, bypasses, organizations, reasons."""

from __future__ import annotations

from typing import Any

import pytest

from fnurl.iam import (
    AuthorizationRequest,
    Decision,
    Policy,
    PolicyKind,
    PolicySet,
    Principal,
    ScpLevel,
    evaluate,
    parse_policy,
)

OWNER = "111122223333"
OTHER = "444455556666"
FUNCTION = f"arn:aws:lambda:us-east-1:{OWNER}:function:hello"
INVOKE = "lambda:InvokeFunctionUrl"
ALICE = f"arn:aws:iam::{OWNER}:user/alice"
SESSION = f"arn:aws:sts::{OWNER}:assumed-role/app-role/sess-1"
ROLE = f"arn:aws:iam::{OWNER}:role/app-role"
FEDERATED = f"arn:aws:sts::{OWNER}:federated-user/carol"


def policy(kind: PolicyKind, *statements: dict[str, Any], name: str = "") -> Policy:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, kind, name=name)


def allow(action: str = INVOKE, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": "*", **extra}


def deny(action: str = INVOKE, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": "*", **extra}


def identity(*statements: dict[str, Any]) -> Policy:
    return policy(PolicyKind.IDENTITY, *statements, name="caller#0")


def resource(*statements: dict[str, Any]) -> Policy:
    return policy(PolicyKind.RESOURCE, *statements, name="hello")


def grant(principal: Any, **extra: Any) -> dict[str, Any]:
    return allow(Principal=principal, **extra)


NOTHING = policy(PolicyKind.BOUNDARY, allow("s3:*"), name="only-s3")
ONLY_S3_SESSION = policy(PolicyKind.SESSION, allow("s3:GetObject"), name="s3-reader")


def decide(
    caller: str | Principal | None,
    policies: PolicySet,
    *,
    action: str = INVOKE,
    resource_arn: str = FUNCTION,
    context: dict[str, Any] | None = None,
    **options: Any,
) -> Decision:
    principal = caller if isinstance(caller, Principal) else Principal.from_arn(caller)
    request = AuthorizationRequest(principal, action, resource_arn, OWNER, context or {})
    return evaluate(request, policies, **options)


def test_decision_allowed_property() -> None:
    assert decide(ALICE, PolicySet(identity=[identity(allow())])).allowed
    assert not decide(ALICE, PolicySet()).allowed


# --- same-account resource-policy grants against implicit denies (spec table 1.4) ---------


@pytest.mark.parametrize(
    ("caller", "named", "boundary", "session", "expected"),
    [
        (ALICE, ALICE, NOTHING, None, "Allow"),
        (SESSION, SESSION, NOTHING, None, "Allow"),
        (SESSION, SESSION, None, ONLY_S3_SESSION, "Allow"),
        (FEDERATED, FEDERATED, NOTHING, ONLY_S3_SESSION, "Allow"),
        (SESSION, ROLE, None, None, "Allow"),
        (SESSION, ROLE, NOTHING, None, "ImplicitDeny"),
        (SESSION, ROLE, None, ONLY_S3_SESSION, "ImplicitDeny"),
        (SESSION, "*", NOTHING, ONLY_S3_SESSION, "Allow"),
        (ALICE, "*", NOTHING, None, "Allow"),
        (ALICE, OWNER, None, None, "ImplicitDeny"),
        (ALICE, OWNER, NOTHING, None, "ImplicitDeny"),
    ],
)
def test_same_account_grant_overrides(
    caller: str, named: str, boundary: Policy | None, session: Policy | None, expected: str
) -> None:
    principal = "*" if named == "*" else {"AWS": named}
    policies = PolicySet(resource=resource(grant(principal)), boundary=boundary, session=session)

    assert decide(caller, policies).outcome == expected


def test_user_grant_to_federated_session_is_capped_by_session_policy() -> None:
    carol = Principal(FEDERATED, OWNER, "FederatedUser", source_user_arn=ALICE)
    named_user = resource(grant({"AWS": ALICE}))
    lambda_session = policy(PolicyKind.SESSION, allow("lambda:*"))

    assert decide(carol, PolicySet(resource=named_user)).outcome == "ImplicitDeny"
    assert decide(carol, PolicySet(resource=named_user, session=ONLY_S3_SESSION)).outcome == (
        "ImplicitDeny"
    )
    assert decide(carol, PolicySet(resource=named_user, session=lambda_session)).allowed


def test_federated_session_without_session_policy_has_no_identity_permissions() -> None:
    decision = decide(FEDERATED, PolicySet(identity=[identity(allow())]))

    assert decision.outcome == "ImplicitDeny"
    assert "session policy" in decision.reason


def test_identity_side_is_the_intersection_of_layers() -> None:
    wide_session = policy(PolicyKind.SESSION, allow("lambda:*"))
    wide_boundary = policy(PolicyKind.BOUNDARY, allow("*"))
    granted = [identity(allow())]

    assert decide(SESSION, PolicySet(granted, boundary=wide_boundary, session=wide_session)).allowed
    assert not decide(
        SESSION, PolicySet(granted, boundary=wide_boundary, session=ONLY_S3_SESSION)
    ).allowed
    assert not decide(SESSION, PolicySet(identity=[identity(allow())], boundary=NOTHING)).allowed
    assert not decide(SESSION, PolicySet(boundary=wide_boundary, session=wide_session)).allowed


@pytest.mark.parametrize("layer", ["boundary", "session"])
def test_explicit_deny_in_a_layer_beats_a_direct_grant(layer: str) -> None:
    kind = PolicyKind.BOUNDARY if layer == "boundary" else PolicyKind.SESSION
    denying = policy(kind, allow("*"), deny())
    policies = PolicySet(resource=resource(grant({"AWS": SESSION})))
    setattr(policies, layer, denying)

    assert decide(SESSION, policies).outcome == "ExplicitDeny"


def test_cross_account_needs_both_sides_and_has_no_bypass() -> None:
    bob = f"arn:aws:iam::{OTHER}:user/bob"
    named = resource(grant({"AWS": bob}))

    assert not decide(bob, PolicySet(resource=named)).allowed
    assert not decide(bob, PolicySet(identity=[identity(allow())])).allowed
    assert decide(bob, PolicySet(identity=[identity(allow())], resource=named)).allowed
    assert not decide(
        bob, PolicySet(identity=[identity(allow())], resource=named, boundary=NOTHING)
    ).allowed


def test_account_principal_in_deny_covers_every_principal_of_the_account() -> None:
    policies = PolicySet(
        identity=[identity(allow())],
        resource=resource(grant("*"), deny(Principal={"AWS": OWNER}, Sid="NoOwner")),
    )

    decision = decide(SESSION, policies)

    assert decision.outcome == "ExplicitDeny"
    assert decision.reason == "explicit Deny: resource policy of hello, statement 'NoOwner'"


def test_not_principal_boundary_trap_is_explained() -> None:
    trap = deny(NotPrincipal={"AWS": [ALICE, f"arn:aws:iam::{OWNER}:root"]})
    boundary = policy(PolicyKind.BOUNDARY, allow("*"))
    policies = PolicySet(identity=[identity(allow())], resource=resource(trap), boundary=boundary)

    decision = decide(ALICE, policies)

    assert decision.outcome == "ExplicitDeny"
    assert "permissions boundary" in decision.reason


# --- root user, anonymous callers and service principals ----------------------------------


def test_root_user_has_full_access_in_its_account_but_not_over_explicit_deny() -> None:
    root = f"arn:aws:iam::{OWNER}:root"

    assert decide(root, PolicySet()).allowed
    assert decide(root, PolicySet(), action="lambda:DeleteFunction").allowed
    assert decide(root, PolicySet(resource=resource(deny(Principal="*")))).outcome == (
        "ExplicitDeny"
    )


def test_root_user_of_another_account_needs_a_resource_grant() -> None:
    root = f"arn:aws:iam::{OTHER}:root"

    assert not decide(root, PolicySet()).allowed
    assert decide(root, PolicySet(resource=resource(grant({"AWS": OTHER})))).allowed


def test_anonymous_ignores_identity_side_policies() -> None:
    policies = PolicySet(
        identity=[identity(deny())],
        boundary=NOTHING,
        scps=[ScpLevel("root", [policy(PolicyKind.SCP, allow("s3:*"))])],
        resource=resource(
            grant("*", Condition={"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}})
        ),
    )

    assert decide(None, policies, context={"lambda:FunctionUrlAuthType": "NONE"}).allowed
    assert not decide(None, policies, context={"lambda:FunctionUrlAuthType": "AWS_IAM"}).allowed


def test_anonymous_is_not_an_account_member() -> None:
    policies = PolicySet(resource=resource(grant({"AWS": OWNER}), deny(Principal={"AWS": OWNER})))

    decision = decide(None, policies)

    assert decision.outcome == "ImplicitDeny"
    assert "anonymous" in decision.reason


def test_service_principal_needs_a_grant_to_that_service() -> None:
    s3 = resource(grant({"Service": "s3.amazonaws.com"}, Action="lambda:InvokeFunction"))
    policies = PolicySet(identity=[identity(allow("*"))], resource=s3)

    assert decide("s3.amazonaws.com", policies, action="lambda:InvokeFunction").allowed
    assert not decide("sns.amazonaws.com", policies, action="lambda:InvokeFunction").allowed
    assert not decide(
        "s3.amazonaws.com",
        PolicySet(identity=[identity(allow("*"))]),
        action="lambda:InvokeFunction",
    ).allowed


# --- organizations ------------------------------------------------------------------------

FULL_ACCESS = policy(PolicyKind.SCP, allow("*"), name="FullAWSAccess")


def test_every_scp_level_needs_an_allow() -> None:
    only_s3 = policy(PolicyKind.SCP, allow("s3:*"), name="OnlyS3")
    granted = [identity(allow())]

    allowed = decide(
        ALICE,
        PolicySet(
            granted,
            scps=[
                ScpLevel("r-root", [FULL_ACCESS]),
                ScpLevel("ou-1", [only_s3, FULL_ACCESS]),
            ],
        ),
    )
    blocked = decide(
        ALICE,
        PolicySet(
            granted,
            scps=[
                ScpLevel("r-root", [FULL_ACCESS]),
                ScpLevel("ou-1", [only_s3]),
                ScpLevel(OWNER, [FULL_ACCESS]),
            ],
        ),
    )
    empty_level = decide(ALICE, PolicySet(granted, scps=[ScpLevel(OWNER, [])]))

    assert allowed.allowed
    assert blocked.outcome == "ImplicitDeny"
    assert blocked.reason == f"no service control policy allows {INVOKE} at level ou-1"
    assert empty_level.outcome == "ImplicitDeny"


def test_scps_limit_root_and_are_not_bypassed_by_resource_policies() -> None:
    only_s3 = ScpLevel("r-root", [policy(PolicyKind.SCP, allow("s3:*"))])
    named = resource(grant({"AWS": ALICE}), grant("*"))

    assert not decide(f"arn:aws:iam::{OWNER}:root", PolicySet(scps=[only_s3])).allowed
    assert not decide(ALICE, PolicySet(resource=named, scps=[only_s3])).allowed


def test_scp_deny_is_explicit_and_unnamed_policies_are_labelled_by_level() -> None:
    level = ScpLevel(OWNER, [FULL_ACCESS, policy(PolicyKind.SCP, deny(INVOKE))])

    decision = decide(ALICE, PolicySet(identity=[identity(allow())], scps=[level]))

    assert decision.outcome == "ExplicitDeny"
    assert decision.reason == (f"explicit Deny: service control policy #1 at {OWNER}, Statement[0]")


def test_rcps_are_ignored_for_lambda_but_apply_to_supported_services() -> None:
    rcp = ScpLevel(OWNER, [policy(PolicyKind.RCP, deny("*", Principal="*"))])
    policies = PolicySet(identity=[identity(allow("*"))], rcps=[rcp])
    bucket = "arn:aws:s3:::bucket/key"

    assert decide(ALICE, policies).allowed
    assert decide(ALICE, policies, action="s3:GetObject", resource_arn=bucket).outcome == (
        "ExplicitDeny"
    )
    assert decide(ALICE, policies, rcp_services={"lambda"}).outcome == "ExplicitDeny"
    assert decide(None, policies, rcp_services={"lambda"}).outcome == "ExplicitDeny"


def test_rcp_full_access_is_implied() -> None:
    unrelated = ScpLevel(OWNER, [policy(PolicyKind.RCP, deny("dynamodb:*", Principal="*"))])

    decision = decide(
        ALICE, PolicySet(identity=[identity(allow())], rcps=[unrelated]), rcp_services={"lambda"}
    )

    assert decision.allowed


# --- trust policies, reasons and traces ---------------------------------------------------


def test_trust_policy_evaluates_without_resource_element() -> None:
    trust = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole"},
            ],
        },
        PolicyKind.TRUST,
        name="app-role",
    )
    policies = PolicySet(resource=trust)

    assert decide(ALICE, policies, action="sts:AssumeRole", resource_arn=ROLE).allowed
    assert not decide(SESSION, policies, action="sts:AssumeRole", resource_arn=ROLE).allowed


def test_reasons_name_the_layer_without_an_allow() -> None:
    no_grant = decide(ALICE, PolicySet(resource=resource(grant({"AWS": OTHER}))))
    no_policy = decide(f"arn:aws:iam::{OTHER}:user/bob", PolicySet(identity=[identity(allow())]))

    assert no_grant.reason == (
        f"no identity-based policy allows {INVOKE} and the resource policy does not grant it"
    )
    assert no_policy.reason.startswith("cross-account: there is no resource-based policy")


def test_trace_lists_every_applicable_statement() -> None:
    policies = PolicySet(
        identity=[identity(allow(Sid="Mine"), allow("s3:*"))],
        resource=resource(grant("*", Sid="Public")),
    )

    decision = decide(ALICE, policies)

    assert decision.trace == (
        "Allow: identity policy caller#0, statement 'Mine'",
        "Allow: resource policy of hello, statement 'Public'",
    )
    assert decision.reason == f"allowed: identity policy caller#0, statement 'Mine' allows {INVOKE}"


def test_unnamed_identity_policies_are_numbered() -> None:
    policies = PolicySet(
        identity=[policy(PolicyKind.IDENTITY, allow("s3:*")), policy(PolicyKind.IDENTITY, deny())]
    )

    assert decide(ALICE, policies).reason == "explicit Deny: identity policy #1, Statement[0]"


def test_context_lookups_are_case_insensitive_at_evaluation() -> None:
    conditioned = identity(allow(Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))

    assert decide(
        ALICE, PolicySet(identity=[conditioned]), context={"AWS:SOURCEIP": "203.0.113.7"}
    ).allowed
