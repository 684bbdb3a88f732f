"""Policy grammar: validation errors name the element and use IAM's wording (spec section 6)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fnurl.iam import PolicyError, PolicyKind, check_size, parse_policy

FUNCTION = "arn:aws:lambda:us-east-1:111122223333:function:my-function"


def statement(**elements: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"Effect": "Allow", "Action": "lambda:InvokeFunctionUrl"}
    base["Resource"] = FUNCTION
    base.update(elements)
    return {key: value for key, value in base.items() if value is not None}


def document(*statements: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements), **top}


def error_of(doc: Any, kind: PolicyKind = PolicyKind.IDENTITY, name: str = "") -> PolicyError:
    with pytest.raises(PolicyError) as raised:
        parse_policy(doc, kind, name=name)

    return raised.value


def test_parses_a_valid_policy() -> None:
    policy = parse_policy(
        document(statement(Sid="One"), statement(Effect="Deny", Action=["s3:*"], Resource="*")),
        PolicyKind.IDENTITY,
        name="alice#0",
    )

    assert policy.name == "alice#0"
    assert policy.kind is PolicyKind.IDENTITY
    assert [s.sid for s in policy.statements] == ["One", None]
    assert [s.effect for s in policy.statements] == ["Allow", "Deny"]
    assert policy.statements[1].actions == ("s3:*",)
    assert policy.document["Version"] == "2012-10-17"
    assert policy.label == "identity policy alice#0"


def test_accepts_a_json_string_and_a_single_statement_object() -> None:
    text = json.dumps({"Statement": statement(Sid="Solo")})

    policy = parse_policy(text, PolicyKind.IDENTITY)

    assert policy.version is None
    assert policy.statements[0].ref == "statement 'Solo'"


@pytest.mark.parametrize(
    ("doc", "element", "iam_message"),
    [
        ("{not json", "", "Syntax errors in policy."),
        ("[]", "", "Syntax errors in policy."),
        ('{"Statement": [], "Statement": []}', "Statement", "Syntax errors in policy."),
        ({"Version": "2012-10-17"}, "Statement", "Syntax errors in policy."),
        (document(), "Statement", "Syntax errors in policy."),
        (document(statement(), Extra=1), "Extra", "Syntax errors in policy."),
        (
            {"Version": "2020-01-01", "Statement": [statement()]},
            "Version",
            "Syntax errors in policy.",
        ),
        ({"Id": 5, "Statement": [statement()]}, "Id", "Syntax errors in policy."),
        (document("nope"), "Statement[0]", "Syntax errors in policy."),  # type: ignore[arg-type]
        (
            document(statement(), statement(Effect="allow")),
            "Statement[1].Effect",
            "Syntax errors in policy.",
        ),
        (document(statement(Effect=None)), "Statement[0].Effect", "Syntax errors in policy."),
        (document(statement(Foo="x")), "Statement[0].Foo", "Syntax errors in policy."),
        (
            document(statement(Action=None)),
            "Statement[0]",
            "Policy statement must contain actions.",
        ),
        (
            document(statement(Action=[])),
            "Statement[0].Action",
            "Policy statement must contain actions.",
        ),
        (
            document(statement(NotAction="s3:*")),
            "Statement[0].NotAction",
            "Syntax errors in policy.",
        ),
        (
            document(statement(Action="InvokeFunctionUrl")),
            "Statement[0].Action",
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            document(statement(Action=["s3:GetObject", "lam bda:X"])),
            "Statement[0].Action[1]",
            "Vendor lam bda is not valid",
        ),
        (
            document(statement(Resource=None)),
            "Statement[0]",
            "Policy statement must contain resources.",
        ),
        (
            document(statement(Resource="my-function")),
            "Statement[0].Resource",
            'Resource my-function must be in ARN format or "*".',
        ),
        (
            document(statement(Resource=["*", "arn:aws:lambda"])),
            "Statement[0].Resource[1]",
            'Resource arn:aws:lambda must be in ARN format or "*".',
        ),
        (
            document(statement(Resource="arn:aws:lamb*:us-east-1:1:function:f")),
            "Statement[0].Resource",
            'Resource arn:aws:lamb*:us-east-1:1:function:f must be in ARN format or "*".',
        ),
        (
            document(statement(Sid="a"), statement(Sid="a")),
            "Statement[1].Sid",
            "Statement IDs (SID) in a single policy must be unique.",
        ),
        (
            document(statement(Sid="not-alnum")),
            "Statement[0].Sid",
            "Statement IDs (SID) must be alpha-numeric.",
        ),
        (
            document(statement(Principal="*")),
            "Statement[0].Principal",
            "Policy document should not specify a principal.",
        ),
        (
            document(statement(Condition={"StringEquals": {"aws:username": {"a": 1}}})),
            "Statement[0].Condition.StringEquals.aws:username",
            "Syntax errors in policy.",
        ),
    ],
)
def test_identity_policy_errors(doc: Any, element: str, iam_message: str) -> None:
    error = error_of(doc)

    assert error.element == element
    assert error.iam_message == iam_message
    assert error.message.startswith(iam_message)
    assert isinstance(error, ValueError)


def test_error_string_names_policy_and_element() -> None:
    error = error_of(document(statement(), statement(Effect="Permit")), name="alice#0")

    text = str(error)

    assert text.startswith("policy 'alice#0', Statement[1].Effect: Syntax errors in policy.")
    assert "'Permit'" in text


@pytest.mark.parametrize("kind", [PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.SCP])
def test_principal_is_forbidden_outside_resource_policies(kind: PolicyKind) -> None:
    error = error_of(document(statement(NotPrincipal={"AWS": "111122223333"}, Effect="Deny")), kind)

    assert error.element == "Statement[0].NotPrincipal"
    assert error.iam_message == "Policy document should not specify a principal."


def test_resource_policy_requires_a_principal() -> None:
    error = error_of(document(statement()), PolicyKind.RESOURCE)

    assert error.element == "Statement[0]"
    assert "Principal" in error.message


@pytest.mark.parametrize(
    ("principal", "element"),
    [
        ("arn:aws:iam::111122223333:root", "Statement[0].Principal"),
        ({}, "Statement[0].Principal"),
        ({"aws": "*"}, "Statement[0].Principal.aws"),
        ({"AWS": []}, "Statement[0].Principal.AWS"),
        ({"AWS": ["111122223333", 5]}, "Statement[0].Principal.AWS[1]"),
    ],
)
def test_malformed_principal(principal: Any, element: str) -> None:
    error = error_of(document(statement(Principal=principal)), PolicyKind.RESOURCE)

    assert error.element == element


def test_not_principal_requires_deny() -> None:
    doc = document(statement(NotPrincipal={"AWS": "111122223333"}))

    error = error_of(doc, PolicyKind.RESOURCE)

    assert error.element == "Statement[0].NotPrincipal"
    assert "Deny" in error.message


def test_principal_and_not_principal_are_exclusive() -> None:
    doc = document(statement(Effect="Deny", Principal="*", NotPrincipal="*"))

    assert error_of(doc, PolicyKind.RESOURCE).element == "Statement[0].NotPrincipal"


def test_lambda_statement_ids_allow_dashes_and_underscores() -> None:
    policy = parse_policy(
        document(statement(Sid="allow-public_access", Principal="*")), PolicyKind.RESOURCE
    )

    assert policy.statements[0].sid == "allow-public_access"
    assert error_of(document(statement(Sid="a b", Principal="*")), PolicyKind.RESOURCE).element == (
        "Statement[0].Sid"
    )


def test_trust_policy_needs_no_resource_but_a_principal() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            },
        ],
    }

    policy = parse_policy(trust, PolicyKind.TRUST, name="deployer")

    assert policy.statements[0].resources is None
    assert policy.label == "trust policy of deployer"
    with pytest.raises(PolicyError):
        parse_policy(
            {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}, PolicyKind.TRUST
        )


def test_rcp_accepts_only_wildcard_principal() -> None:
    parse_policy(document(statement(Effect="Deny", Principal="*")), PolicyKind.RCP)

    error = error_of(
        document(statement(Effect="Deny", Principal={"AWS": "111122223333"})), PolicyKind.RCP
    )

    assert error.element == "Statement[0].Principal"


def test_dead_principal_values_are_reported_as_warnings() -> None:
    doc = document(statement(Principal={"AWS": ["arn:aws:iam::111122223333:role/*", "bob"]}))

    policy = parse_policy(doc, PolicyKind.RESOURCE)

    assert len(policy.warnings) == 2
    assert "role/*" in policy.warnings[0]


@pytest.mark.parametrize(
    ("kind", "name", "label"),
    [
        (PolicyKind.RESOURCE, "hello", "resource policy of hello"),
        (PolicyKind.RESOURCE, "", "resource policy"),
        (PolicyKind.BOUNDARY, "dev", "permissions boundary dev"),
        (PolicyKind.SCP, "FullAWSAccess", "service control policy FullAWSAccess"),
        (PolicyKind.IDENTITY, "identity policy alice#0", "identity policy alice#0"),
    ],
)
def test_labels(kind: PolicyKind, name: str, label: str) -> None:
    principal = {"Principal": "*"} if kind is PolicyKind.RESOURCE else {}

    assert parse_policy(document(statement(**principal)), kind, name=name).label == label


def test_check_size() -> None:
    big = document(*[statement(Sid=f"S{index}", Principal="*") for index in range(200)])
    scp = json.dumps(document(statement()), indent=2000)

    with pytest.raises(PolicyError, match="bigger than the limit"):
        check_size(big, PolicyKind.RESOURCE)

    with pytest.raises(PolicyError, match="5120"):
        check_size(scp, PolicyKind.SCP)

    check_size(scp, PolicyKind.IDENTITY)
    check_size(document(statement()), PolicyKind.RESOURCE)
