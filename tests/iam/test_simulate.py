"""The simulator behind `fnurl simulate`: cases in, decisions or clear errors out."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fnurl.iam.simulate import UNSIGNED_AWS_IAM, simulate_case, simulate_lines

FUNCTION = "arn:aws:lambda:us-east-1:111122223333:function:my-function"
ALICE = "arn:aws:iam::111122223333:user/alice"
CASE: dict[str, Any] = {
    "id": "T-1",
    "policies": {
        "identity": [{"Version": "2012-10-17", "Statement": [
            {"Sid": "Invoke", "Effect": "Allow", "Action": "lambda:InvokeFunctionUrl",
             "Resource": FUNCTION}]}],
        "resource": None,
        "scps": [],
        "boundary": None,
    },
    "request": {"principal_arn": ALICE, "principal_account": "111122223333",
                "action": "lambda:InvokeFunctionUrl", "resource": FUNCTION, "context": {}},
    "resource_account": "111122223333",
}


def changed(path: str, value: Any) -> dict[str, Any]:
    """CASE with one element (dotted path, list indexes as numbers) replaced."""
    case = copy.deepcopy(CASE)
    *parents, last = path.split(".")
    target: Any = case
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return case


def test_a_case_gets_its_decision_and_reasons() -> None:
    result = simulate_case(CASE)

    assert result == {
        "id": "T-1",
        "decision": "Allow",
        "reasons": [
            "allowed: identity policy #0, statement 'Invoke' allows lambda:InvokeFunctionUrl",
            "Allow: identity policy #0, statement 'Invoke'",
        ],
    }


def test_a_denied_case_names_the_blocking_layer() -> None:
    result = simulate_case(changed("request.action", "lambda:GetFunction"))

    assert result["decision"] == "ImplicitDeny"
    assert "blocked by: identity" in result["reasons"]


def test_unsigned_call_to_an_aws_iam_url_is_refused_before_evaluation() -> None:
    case = changed("request.principal_arn", None)
    case["request"]["context"] = {"lambda:FunctionUrlAuthType": "AWS_IAM"}
    case["policies"]["resource"] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}

    signed_none = copy.deepcopy(case)
    signed_none["request"]["context"]["lambda:FunctionUrlAuthType"] = "NONE"

    assert simulate_case(case) == {"id": "T-1", "decision": "ImplicitDeny",
                                   "reasons": [UNSIGNED_AWS_IAM]}
    assert simulate_case(signed_none)["decision"] == "Allow"


def test_multivalued_and_scalar_context_values_are_accepted() -> None:
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*",
                 "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a/r-b/*"},
                               "Bool": {"aws:SecureTransport": "true"},
                               "NumericLessThan": {"aws:MultiFactorAuthAge": "60"}}}
    case = changed("policies.identity", [{"Version": "2012-10-17", "Statement": statement}])
    case["request"]["context"] = {"aws:PrincipalOrgPaths": ["o-a/r-b/ou-c/"],
                                  "aws:SecureTransport": True, "aws:MultiFactorAuthAge": 30}

    assert simulate_case(case)["decision"] == "Allow"


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        ("request", None, "request: must be a JSON object"),
        ("request.action", "", "request.action: must be a non-empty string"),
        ("request.resource", 7, "request.resource: must be a non-empty string"),
        ("request.principal_arn", 12, "request.principal_arn: must be an ARN"),
        ("request.principal_arn", "arn:aws:iam::1:group/x", "request.principal_arn: cannot tell"),
        ("request.principal_account", ["1"], "request.principal_account: must be an account"),
        ("request.context", [], "request.context: must be a JSON object"),
        ("request.context", {"aws:SourceIp": {"a": 1}}, "request.context.aws:SourceIp: must"),
        ("request.context", {"k:k": [{"a": 1}]}, "request.context.k:k: list values"),
        ("policies", "x", "policies: must be a JSON object"),
        ("policies.identity", {}, "policies.identity: must be a list"),
        ("policies.identity.0", 5, "policies.identity[0]: a policy must be a JSON object"),
        ("policies.identity.0.Statement", [{"Effect": "Maybe", "Action": "*", "Resource": "*"}],
         "policies.identity[0]: Statement[0].Effect: Syntax errors in policy."),
        ("policies.resource", {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}},
         "policies.resource: Statement: Syntax errors in policy. Statements of a resource"),
        ("policies.scps", [{"target": "root"}], "policies.scps[0].policies: must be a list"),
        ("policies.scps", ["root"], "policies.scps[0]: must be a JSON object"),
        ("policies.scps", [{"policies": [{"Statement": []}]}],
         "policies.scps[0].policies[0]: Statement: Syntax errors"),
        ("resource_account", 111122223333, "resource_account: must be a non-empty string"),
    ],
)
def test_malformed_cases_get_an_error_naming_the_element(path: str, value: Any, error: str) -> None:
    result = simulate_case(changed(path, value))

    assert result["id"] == "T-1"
    assert "decision" not in result
    assert result["error"].startswith(error), result["error"]


def test_a_case_that_is_not_an_object_is_an_error() -> None:
    assert simulate_case(["not", "a", "case"]) == {"id": None,
                                                   "error": "a case must be a JSON object"}


def test_lines_skip_blanks_and_comments_and_report_bad_json() -> None:
    lines = ["", "# a comment", json.dumps(CASE), "{not json", "  "]

    results = list(simulate_lines(lines))

    assert [result.get("decision") for result in results] == ["Allow", None]
    assert results[1] == {"id": None, "error": "line 4: not valid JSON: Expecting property name "
                                               "enclosed in double quotes"}


def test_resource_account_defaults_to_the_account_of_the_resource_arn() -> None:
    case = copy.deepcopy(CASE)
    del case["resource_account"]

    assert simulate_case(case)["decision"] == "Allow"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)
PATHS = [
    "request", "request.action", "request.resource", "request.principal_arn",
    "request.principal_account", "request.context", "policies", "policies.identity",
    "policies.identity.0", "policies.identity.0.Statement", "policies.identity.0.Version",
    "policies.resource", "policies.boundary", "policies.scps", "resource_account",
]


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(path=st.sampled_from(PATHS), value=JSON)
def test_any_element_replaced_by_any_json_gets_a_decision_or_an_error(
    path: str, value: Any
) -> None:
    result = simulate_case(changed(path, value))

    assert result["id"] == "T-1"
    assert ("decision" in result) != ("error" in result)
    if "error" in result:
        assert isinstance(result["error"], str) and result["error"]


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(line=st.text(max_size=40) | JSON.map(json.dumps))
def test_any_line_gets_an_answer(line: str) -> None:
    results = list(simulate_lines([line]))

    assert len(results) <= 1
    for result in results:
        assert "decision" in result or "error" in result
