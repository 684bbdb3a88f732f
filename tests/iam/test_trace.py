"""Explained decisions: the layer that blocked, and why each statement did or did not apply."""

from __future__ import annotations

from typing import Any

import pytest

from fnurl.iam import (
    AuthorizationRequest,
    Decision,
    PolicyKind,
    PolicySet,
    Principal,
    ScpLevel,
    evaluate,
    parse_policy,
)
from fnurl.iam.explain import explain_lines
from tests.iam.test_cases import CASES, PRE_EVALUATION, build

OWNER = "111122223333"
OTHER = "444455556666"
FUNCTION = f"arn:aws:lambda:us-east-1:{OWNER}:function:hello"
INVOKE = "lambda:InvokeFunctionUrl"
ALICE = f"arn:aws:iam::{OWNER}:user/alice"
SESSION = f"arn:aws:sts::{OWNER}:assumed-role/app/s1"
BOB = f"arn:aws:iam::{OTHER}:user/bob"
ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def decide(
    caller: str | None,
    *,
    identity: tuple[dict[str, Any], ...] = (),
    resource: dict[str, Any] | None = None,
    boundary: dict[str, Any] | None = None,
    session: dict[str, Any] | None = None,
    scps: tuple[dict[str, Any], ...] = (),
    context: dict[str, Any] | None = None,
    action: str = INVOKE,
) -> tuple[AuthorizationRequest, Decision]:
    policies = PolicySet(
        identity=[parse_policy(d, PolicyKind.IDENTITY) for d in identity],
        resource=parse_policy(resource, PolicyKind.RESOURCE, name="hello") if resource else None,
        boundary=parse_policy(boundary, PolicyKind.BOUNDARY) if boundary else None,
        session=parse_policy(session, PolicyKind.SESSION) if session else None,
        scps=[ScpLevel("ou-1", [parse_policy(d, PolicyKind.SCP) for d in scps])] if scps else [],
    )
    request = AuthorizationRequest(
        Principal.from_arn(caller), action, FUNCTION, OWNER, context or {}
    )
    return request, evaluate(request, policies, explain=True)


@pytest.mark.parametrize(
    ("layer", "kwargs"),
    [
        ("identity", {}),
        ("boundary", {"identity": (doc(ALLOW_ALL),), "boundary": doc({**ALLOW_ALL,
                                                                      "Action": "s3:*"})}),
        ("session", {"identity": (doc(ALLOW_ALL),), "session": doc({**ALLOW_ALL,
                                                                    "Action": "s3:*"})}),
        ("scp", {"identity": (doc(ALLOW_ALL),), "scps": (doc({**ALLOW_ALL, "Action": "s3:*"}),)}),
        ("identity", {"identity": (doc({**ALLOW_ALL, "Effect": "Deny"}),)}),
        ("resource", {"resource": doc({**ALLOW_ALL, "Effect": "Deny", "Principal": "*"})}),
        ("scp", {"identity": (doc(ALLOW_ALL),),
                 "scps": (doc(ALLOW_ALL), doc({**ALLOW_ALL, "Effect": "Deny"}))}),
    ],
)
def test_blocked_by_names_the_layer(layer: str, kwargs: dict[str, Any]) -> None:
    caller = SESSION if "session" in kwargs else ALICE

    _, decision = decide(caller, **kwargs)

    assert not decision.allowed
    assert decision.blocked_by == layer


def test_blocked_by_is_the_resource_policy_for_anonymous_and_cross_account_callers() -> None:
    _, anonymous = decide(None, resource=doc({**ALLOW_ALL, "Principal": {"AWS": OWNER}}))
    _, cross = decide(BOB, identity=(doc(ALLOW_ALL),))

    assert anonymous.blocked_by == "resource"
    assert cross.blocked_by == "resource"


def test_an_allow_has_no_blocking_layer() -> None:
    _, decision = decide(ALICE, identity=(doc(ALLOW_ALL),))

    assert decision.allowed
    assert decision.blocked_by is None


def test_failed_condition_shows_the_request_value_and_the_policy_values() -> None:
    statement = {**ALLOW_ALL, "Sid": "Team",
                 "Condition": {"StringEquals": {"aws:PrincipalTag/Team": ["eng", "ops"]}}}

    _, decision = decide(ALICE, identity=(doc(statement),),
                         context={"aws:PrincipalTag/team": "sales"})

    report = decision.details[0].statements[0]
    assert not report.applies
    assert report.problems == (
        "Condition StringEquals aws:PrincipalTag/Team 'eng' or 'ops' is false: "
        "the request has 'sales'",
    )


def test_failed_condition_on_a_missing_key_says_the_key_is_absent() -> None:
    statement = {**ALLOW_ALL, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}

    _, decision = decide(ALICE, identity=(doc(statement),))

    assert decision.details[0].statements[0].problems == (
        "Condition IpAddress aws:SourceIp '10.0.0.0/8' is false: the request has no "
        "aws:SourceIp",
    )


def test_negated_condition_lists_the_values_it_excludes() -> None:
    statement = {**ALLOW_ALL,
                 "Condition": {"StringNotEquals": {"aws:PrincipalAccount": [OWNER, OTHER]}}}

    _, decision = decide(ALICE, identity=(doc(statement),),
                         context={"aws:PrincipalAccount": OWNER})

    (problem,) = decision.details[0].statements[0].problems
    assert problem.startswith(f"Condition StringNotEquals aws:PrincipalAccount none of '{OWNER}'")


def test_every_failing_part_of_a_statement_is_listed() -> None:
    statement = {"Effect": "Allow", "Principal": {"AWS": BOB}, "Action": "lambda:GetFunction",
                 "Resource": f"arn:aws:lambda:us-east-1:{OWNER}:function:other"}

    _, decision = decide(ALICE, resource=doc(statement))

    problems = decision.details[0].statements[0].problems
    assert problems == (
        f"Action lambda:GetFunction does not match {INVOKE}",
        f"Principal {BOB} does not match {ALICE}",
        f"Resource arn:aws:lambda:us-east-1:{OWNER}:function:other does not match {FUNCTION}",
    )


def test_not_principal_and_not_action_problems_say_the_list_names_it() -> None:
    statements = (
        {"Effect": "Deny", "NotPrincipal": {"AWS": ALICE}, "Action": "*", "Resource": "*"},
        {"Effect": "Allow", "Principal": "*", "NotAction": INVOKE, "Resource": "*"},
    )

    _, decision = decide(ALICE, resource=doc(*statements))

    not_principal, not_action = decision.details[0].statements
    assert not_principal.problems == (f"NotPrincipal {ALICE} lists {ALICE}, so the statement "
                                      "excludes it",)
    assert not_action.problems == (f"NotAction {INVOKE} lists {INVOKE}",)


def test_unexplained_evaluation_carries_no_details() -> None:
    policies = PolicySet(identity=[parse_policy(doc(ALLOW_ALL), PolicyKind.IDENTITY)])
    request = AuthorizationRequest(Principal.from_arn(ALICE), INVOKE, FUNCTION, OWNER, {})

    assert evaluate(request, policies).details == ()


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_explained_decisions_match_plain_ones(case: dict[str, Any]) -> None:
    """Explaining never changes a decision, and a statement applies iff the trace lists it."""
    if case["id"] in PRE_EVALUATION:
        pytest.skip(PRE_EVALUATION[case["id"]])
    request, policies = build(case)

    plain = evaluate(request, policies)
    explained = evaluate(request, policies, explain=True)

    assert (explained.outcome, explained.reason, explained.trace) == (
        plain.outcome, plain.reason, plain.trace
    )
    applying = [
        f"{report.label}, {statement.ref}"
        for report in explained.details
        for statement in report.statements
        if statement.applies
    ]
    assert sorted(applying) == sorted(entry.split(": ", 1)[1] for entry in plain.trace)


def test_explain_lines_count_statements_for_other_actions() -> None:
    statements = [
        {"Sid": f"Other{index}", "Effect": "Allow", "Principal": "*",
         "Action": "lambda:GetFunction", "Resource": "*"}
        for index in range(5)
    ]
    statements.append({"Sid": "Mine", "Effect": "Allow", "Principal": {"AWS": BOB},
                       "Action": INVOKE, "Resource": "*"})

    request, decision = decide(ALICE, resource=doc(*statements))
    lines = explain_lines(request, decision)

    assert lines[0] == f"{INVOKE}: ImplicitDeny"
    assert "  blocked by: identity-based policies" in lines
    assert "    identity-based policies: none" in lines
    assert "      (5 statements for other actions)" in lines
    assert "      Allow statement 'Mine': does not apply" in lines
    assert not any("Other0" in line for line in lines)
    assert any("Other0" in line for line in explain_lines(request, decision, verbose=True))
