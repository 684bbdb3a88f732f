"""Action, Resource (ARN) and policy-variable matching (spec sections 3 and 4.5)."""

from __future__ import annotations

from typing import Any

import pytest

from fnurl.iam import PolicyKind, Principal, RequestContext, parse_policy
from fnurl.iam.arn import Arn, arn_pattern
from fnurl.iam.variables import Text, Variable, tokenize

FUNCTION = "arn:aws:lambda:us-east-1:111122223333:function:my-function"
ALICE = Principal.from_arn("arn:aws:iam::111122223333:user/alice")


def applies(
    *,
    action: str = "lambda:InvokeFunctionUrl",
    resource: str = FUNCTION,
    context: dict[str, Any] | None = None,
    version: str | None = "2012-10-17",
    **elements: Any,
) -> bool:
    statement = {"Effect": "Allow", **elements}
    document: dict[str, Any] = {"Statement": [statement]}
    if version:
        document["Version"] = version

    policy = parse_policy(document, PolicyKind.IDENTITY)
    found = policy.statements[0].applies(ALICE, action, resource, RequestContext(context or {}))
    return found is not None


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("lambda:InvokeFunctionUrl", "lambda:InvokeFunctionUrl", True),
        ("LAMBDA:invokefunctionurl", "lambda:InvokeFunctionUrl", True),
        ("lambda:InvokeFunction", "lambda:InvokeFunctionUrl", False),
        ("lambda:Invoke*", "lambda:InvokeFunctionUrl", True),
        ("lambda:*Url", "lambda:InvokeFunctionUrl", True),
        ("lambda:InvokeFunction?Url", "lambda:InvokeFunctionUrl", False),
        ("lambda:InvokeFunction???", "lambda:InvokeFunctionUrl", True),
        ("*", "s3:GetObject", True),
        ("lambda:*", "s3:GetObject", False),
        ("lambda:Get*", "lambda:GetFunctionUrlConfig", True),
    ],
)
def test_action_patterns(pattern: str, action: str, expected: bool) -> None:
    assert applies(Action=pattern, Resource="*", action=action) is expected


def test_not_action_covers_every_other_action_of_every_service() -> None:
    assert applies(NotAction="lambda:Delete*", Resource="*", action="lambda:InvokeFunctionUrl")
    assert applies(NotAction="lambda:Delete*", Resource="*", action="s3:GetObject")
    assert not applies(
        NotAction=["iam:*", "lambda:Delete*"], Resource="*", action="lambda:DeleteFunction"
    )


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        ("*", FUNCTION, True),
        (FUNCTION, FUNCTION, True),
        (FUNCTION, FUNCTION + ":prod", False),
        (FUNCTION, FUNCTION + ":$LATEST", False),
        (FUNCTION + ":*", FUNCTION, False),
        (FUNCTION + ":*", FUNCTION + ":prod", True),
        (FUNCTION + "*", FUNCTION, True),
        (FUNCTION + "*", FUNCTION + ":7", True),
        (FUNCTION + "*", FUNCTION + "-other", True),
        ("arn:aws:lambda:us-east-1:111122223333:function:My-Function", FUNCTION, False),
        ("arn:aws:lambda:eu-west-1:111122223333:function:my-function", FUNCTION, False),
        ("arn:aws:lambda:*:111122223333:function:my-function", FUNCTION, True),
        ("arn:aws:lambda:us-east-?:111122223333:function:*", FUNCTION, True),
        # Wildcards in the first five parts stay inside their part ...
        ("arn:aws:lambda:*:function:my-function", FUNCTION, False),
        ("arn:aws:lambda:us-east-1:*:my-function", FUNCTION, False),
        # ... while in the resource part "*" spans ":" and "/".
        ("arn:aws:lambda:us-east-1:111122223333:*", FUNCTION + ":prod", True),
        ("arn:aws:lambda:us-east-1:111122223333:function:*-function", FUNCTION, True),
        # A pattern that stops early must end in "*", which then covers the rest.
        ("arn:aws:lambda:*", FUNCTION, True),
        ("arn:aws:s3:*", FUNCTION, False),
    ],
)
def test_resource_patterns(pattern: str, resource: str, expected: bool) -> None:
    assert applies(Action="lambda:*", Resource=pattern, resource=resource) is expected


def test_not_resource() -> None:
    admin = "arn:aws:lambda:us-east-1:111122223333:function:admin-*"

    assert applies(Action="lambda:*", NotResource=admin)
    assert not applies(Action="lambda:*", NotResource=admin, resource=FUNCTION[:-11] + "admin-x")


def test_arn_parse() -> None:
    arn = Arn.parse(FUNCTION + ":prod")

    assert arn == Arn("aws", "lambda", "us-east-1", "111122223333", "function:my-function:prod")
    assert str(arn) == FUNCTION + ":prod"
    assert Arn.parse("arn:aws:s3:::bucket") == Arn("aws", "s3", "", "", "bucket")
    assert Arn.parse("arn:aws:lambda") is None
    assert Arn.parse("urn:aws:s3:::bucket") is None


def test_arn_pattern_rejects_short_patterns_without_trailing_star() -> None:
    assert arn_pattern(tokenize("arn:aws:lambda:us-east-1", variables=False), source="") is None


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("plain", (Text("plain"),)),
        ("a-${aws:username}-b", (Text("a-"), Variable("aws:username"), Text("-b"))),
        ("${aws:PrincipalTag/team, 'shared'}", (Variable("aws:PrincipalTag/team", "shared"),)),
        ("x${*}y", (Text("x"), Text("*", wildcards=False), Text("y"))),
        ("${?}${$}", (Text("?$", wildcards=False),)),
        ("${}", (Text("${}"),)),
    ],
)
def test_tokenize(text: str, tokens: tuple[Text | Variable, ...]) -> None:
    assert tokenize(text, variables=True) == tokens


def test_tokenize_without_variables_is_literal() -> None:
    assert tokenize("${aws:username}", variables=False) == (Text("${aws:username}"),)


def test_variable_in_resource() -> None:
    pattern = "arn:aws:lambda:us-east-1:111122223333:function:${aws:username}-*"
    tools = FUNCTION.replace("my-function", "alice-tools")

    assert applies(Action="*", Resource=pattern, resource=tools, context={"aws:username": "alice"})
    assert not applies(
        Action="*", Resource=pattern, resource=tools, context={"aws:username": "bob"}
    )
    # A missing variable makes the entry match nothing, so NotResource then covers everything.
    assert not applies(Action="*", Resource=pattern, resource=tools)
    assert applies(Action="*", NotResource=pattern, resource=tools)


def test_resource_variables_count_only_in_the_resource_part() -> None:
    """AWS: a variable in Resource works "only in the resource portion of the ARN"."""
    in_account = "arn:aws:lambda:us-east-1:${aws:PrincipalAccount}:function:*"
    in_region = "arn:aws:lambda:${aws:RequestedRegion}:111122223333:function:*"
    context = {"aws:PrincipalAccount": "111122223333", "aws:RequestedRegion": "us-east-1"}

    assert not applies(Action="*", Resource=in_account, context=context)
    assert not applies(Action="*", Resource=in_region, context=context)
    assert applies(Action="*", NotResource=in_account, context=context)
    # Variables in Arn* condition values are not limited to the resource part.
    condition = {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::${aws:PrincipalAccount}:user/*"}}
    assert applies(Action="*", Resource="*", Condition=condition,
                   context={**context, "aws:PrincipalArn": "arn:aws:iam::111122223333:user/a"})


def test_variables_need_version_2012_10_17() -> None:
    pattern = "arn:aws:lambda:us-east-1:111122223333:function:${aws:username}-*"
    tools = FUNCTION.replace("my-function", "alice-tools")
    literal = FUNCTION.replace("my-function", "${aws:username}-x")
    context = {"aws:username": "alice"}

    for version in ("2008-10-17", None):
        assert not applies(
            Action="*", Resource=pattern, resource=tools, context=context, version=version
        )
        assert applies(
            Action="*", Resource=pattern, resource=literal, context=context, version=version
        )


def test_variable_default_and_key_case() -> None:
    pattern = "arn:aws:lambda:us-east-1:111122223333:function:${AWS:PrincipalTag/Team, 'shared'}"

    assert applies(Action="*", Resource=pattern, resource=FUNCTION.replace("my-function", "shared"))
    assert applies(
        Action="*",
        Resource=pattern,
        resource=FUNCTION.replace("my-function", "red"),
        context={"aws:principaltag/team": "red"},
    )


def test_substituted_values_are_literal() -> None:
    condition = {"StringLike": {"aws:PrincipalTag/pattern": "${aws:username}"}}

    assert not applies(
        Action="*",
        Resource="*",
        Condition=condition,
        context={"aws:username": "a*", "aws:PrincipalTag/pattern": "abc"},
    )
    assert applies(
        Action="*",
        Resource="*",
        Condition=condition,
        context={"aws:username": "a*", "aws:PrincipalTag/pattern": "a*"},
    )


def test_escapes_are_not_wildcards() -> None:
    condition = {"StringLike": {"aws:PrincipalTag/code": "x${*}y"}}

    assert not applies(
        Action="*", Resource="*", Condition=condition, context={"aws:PrincipalTag/code": "xzzy"}
    )
    assert applies(
        Action="*", Resource="*", Condition=condition, context={"aws:PrincipalTag/code": "x*y"}
    )


def test_variables_in_string_conditions_and_missing_variable() -> None:
    equals = {"StringEquals": {"aws:PrincipalTag/owner": "${aws:username}"}}
    not_equals = {"StringNotEquals": {"aws:PrincipalTag/owner": "${aws:username}"}}
    context = {"aws:PrincipalTag/owner": "alice"}

    assert applies(
        Action="*", Resource="*", Condition=equals, context={**context, "aws:username": "alice"}
    )
    assert not applies(Action="*", Resource="*", Condition=equals, context=context)
    assert applies(Action="*", Resource="*", Condition=not_equals, context=context)


def test_variables_are_not_filled_in_numeric_conditions() -> None:
    condition = {"NumericEquals": {"k:n": "${k:m}"}}

    assert not applies(
        Action="*", Resource="*", Condition=condition, context={"k:n": "1", "k:m": "1"}
    )


def test_multivalued_key_cannot_fill_a_variable() -> None:
    condition = {"StringEquals": {"k:a": "${aws:TagKeys}"}}

    assert not applies(
        Action="*",
        Resource="*",
        Condition=condition,
        context={"k:a": "env", "aws:TagKeys": ["env"]},
    )
