"""Condition operators, set qualifiers and missing-key rules (spec section 4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from fnurl.iam import PolicyError, RequestContext
from fnurl.iam.conditions import compile_conditions, parse_instant

Context = Mapping[str, str | Sequence[str]]


def holds(block: dict[str, Any], context: Context, *, variables: bool = True) -> bool:
    conditions, _ = compile_conditions(block, element="Condition", variables=variables)
    request = RequestContext(context)
    return all(condition.holds(request) for condition in conditions)


def warnings_of(block: dict[str, Any]) -> tuple[str, ...]:
    return compile_conditions(block, element="Condition", variables=True)[1]


@pytest.mark.parametrize(
    ("operator", "policy", "actual", "expected"),
    [
        ("StringEquals", "green", "green", True),
        ("StringEquals", "green", "Green", False),
        ("StringEquals", "gr*", "green", False),
        ("StringNotEquals", "green", "blue", True),
        ("StringEqualsIgnoreCase", "GREEN", "green", True),
        ("StringNotEqualsIgnoreCase", "GREEN", "green", False),
        ("StringLike", "gr*", "green", True),
        ("StringLike", "gr?en", "green", True),
        ("StringLike", "gr?n", "green", False),
        ("StringLike", "arn:*", "arn:aws:iam::1:role/x", True),
        ("StringLike", "Gr*", "green", False),
        ("StringNotLike", "gr*", "blue", True),
        ("NumericEquals", "10", "10.0", True),
        ("NumericNotEquals", "10", "11", True),
        ("NumericLessThan", "1700000000", "1780315200", False),
        ("NumericLessThanEquals", "5", "5", True),
        ("NumericGreaterThan", "-1.5", "0", True),
        ("NumericGreaterThanEquals", "3", "2", False),
        ("NumericEquals", "10", "ten", False),
        ("DateLessThan", "2020-01-01T00:00:00Z", "2026-06-01T12:00:00Z", False),
        ("DateLessThan", "1893456000", "2026-06-01T12:00:00Z", True),
        ("DateGreaterThan", "2026-06-01T11:00:00-02:00", "2026-06-01T12:00:00Z", False),
        ("DateEquals", "2026-06-01T12:00:00Z", "1780315200", True),
        ("DateNotEquals", "2026-06-01", "2026-06-01T00:00:00Z", False),
        ("DateGreaterThanEquals", "2026", "2026-01-01T00:00:00.000Z", True),
        ("DateLessThanEquals", "2026-06-01T12:00Z", "2026-06-01T12:00:00.5Z", False),
        ("Bool", "true", "true", True),
        ("Bool", "TRUE", "true", True),
        ("Bool", "true", "false", False),
        ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", True),
        ("BinaryEquals", "QmluYXJ5", "Qmlu", False),
        ("IpAddress", "203.0.113.0/24", "203.0.113.99", True),
        ("IpAddress", "203.0.113.10", "203.0.113.11", False),
        ("IpAddress", "2001:DB8:1234:5678::/64", "2001:db8:1234:5678::1", True),
        ("IpAddress", "::/0", "203.0.113.1", False),
        ("IpAddress", "203.0.113.0/24", "not-an-ip", False),
        ("NotIpAddress", "203.0.113.0/24", "198.51.100.7", True),
        ("ArnLike", "arn:aws:iam::*:role/app-*", "arn:aws:iam::111122223333:role/app-x", True),
        ("ArnEquals", "arn:aws:iam::*:role/app-*", "arn:aws:iam::111122223333:role/app-x", True),
        ("ArnLike", "arn:aws:iam::*:role/App-*", "arn:aws:iam::111122223333:role/app-x", False),
        ("ArnNotLike", "arn:aws:s3:::my-bucket", "arn:aws:s3:::other", True),
        ("ArnLike", "arn:aws:s3:::*", "not-an-arn", False),
    ],
)
def test_operator(operator: str, policy: str, actual: str, expected: bool) -> None:
    assert holds({operator: {"k:key": policy}}, {"k:key": actual}) is expected


def test_arn_like_wildcards_stay_inside_their_part() -> None:
    source_arn = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/doc"
    block = {"ArnLike": {"aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"}}

    assert not holds(block, {"aws:SourceArn": source_arn})
    assert holds(
        {"StringLike": {"aws:SourceArn": "*:111122223333:finance/*"}}, {"aws:SourceArn": source_arn}
    )


def test_arn_value_with_too_few_parts_never_matches() -> None:
    block = {"ArnLike": {"aws:SourceArn": "arn:aws:s3:*"}}

    assert not holds(block, {"aws:SourceArn": "arn:aws:s3:::bucket"})
    assert warnings_of(block)


def test_several_values_are_ored_and_keys_anded() -> None:
    block = {"StringEquals": {"k:a": ["x", "y"], "k:b": "z"}}

    assert holds(block, {"k:a": "y", "k:b": "z"})
    assert not holds(block, {"k:a": "y", "k:b": "q"})


def test_operators_are_anded() -> None:
    block = {
        "StringEquals": {"aws:PrincipalTag/team": "green"},
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
    }

    assert not holds(block, {"aws:PrincipalTag/team": "green", "aws:SourceIp": "203.0.113.1"})
    assert holds(block, {"aws:PrincipalTag/team": "green", "aws:SourceIp": "10.1.2.3"})


def test_negated_operator_over_a_list_is_nor() -> None:
    block = {"StringNotEquals": {"aws:PrincipalAccount": ["444455556666", "111122223333"]}}

    assert not holds(block, {"aws:PrincipalAccount": "111122223333"})
    assert holds(block, {"aws:PrincipalAccount": "999999999999"})


def test_key_names_are_case_insensitive_values_are_not() -> None:
    assert holds({"StringEquals": {"AWS:SourceAccount": "1"}}, {"aws:sourceaccount": "1"})
    assert holds({"StringEquals": {"aws:PrincipalTag/TEAM": "a"}}, {"aws:principaltag/team": "a"})
    assert not holds({"StringEquals": {"aws:username": "Alice"}}, {"aws:username": "alice"})


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", False),
        ("StringLike", False),
        ("NumericLessThan", False),
        ("DateGreaterThan", False),
        ("Bool", False),
        ("IpAddress", False),
        ("ArnLike", False),
        ("BinaryEquals", False),
        ("StringNotEquals", True),
        ("StringNotEqualsIgnoreCase", True),
        ("StringNotLike", True),
        ("NumericNotEquals", True),
        ("DateNotEquals", True),
        ("ArnNotEquals", True),
        ("ArnNotLike", True),
        ("NotIpAddress", True),
        ("StringEqualsIfExists", True),
        ("StringNotEqualsIfExists", True),
        ("ForAllValues:StringEquals", True),
        ("ForAnyValue:StringEquals", False),
        ("ForAnyValue:StringEqualsIfExists", True),
        ("ForAllValues:StringNotEquals", True),
        ("ForAnyValue:StringNotEquals", False),
    ],
)
def test_missing_key(operator: str, expected: bool) -> None:
    value = "AQID" if "Binary" in operator else "1"

    assert holds({operator: {"k:absent": value}}, {"k:other": "1"}) is expected


def test_if_exists_still_tests_a_present_key() -> None:
    block = {"StringNotEqualsIfExists": {"k:auth": "AWS_IAM"}}

    assert holds(block, {"k:auth": "NONE"})
    assert not holds(block, {"k:auth": "AWS_IAM"})


def test_null() -> None:
    assert holds({"Null": {"aws:PrincipalTag/team": "true"}}, {})
    assert not holds({"Null": {"aws:PrincipalTag/team": "true"}}, {"aws:PrincipalTag/team": ""})
    assert holds({"Null": {"aws:PrincipalTag/team": False}}, {"aws:PrincipalTag/team": "g"})
    assert holds({"Null": {"aws:TagKeys": "true"}}, {"aws:TagKeys": []})


def test_null_rejects_if_exists() -> None:
    with pytest.raises(PolicyError, match="IfExists"):
        holds({"NullIfExists": {"k:a": "true"}}, {})


@pytest.mark.parametrize(
    ("tag_keys", "for_all", "for_any"),
    [
        (["env"], True, True),
        (["env", "team"], True, True),
        (["env", "owner"], False, True),
        (["owner"], False, False),
        ([], True, False),
        ("env", True, True),
    ],
)
def test_set_qualifiers(tag_keys: list[str] | str, for_all: bool, for_any: bool) -> None:
    context = {"aws:TagKeys": tag_keys}

    assert holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}}, context) is (
        for_all
    )
    assert holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "team"]}}, context) is (
        for_any
    )


def test_set_qualifiers_with_negated_operator() -> None:
    block_all = {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}
    block_any = {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["secret"]}}

    assert holds(block_all, {"aws:TagKeys": ["a", "b"]})
    assert not holds(block_all, {"aws:TagKeys": ["a", "secret"]})
    assert holds(block_any, {"aws:TagKeys": ["a", "secret"]})
    assert not holds(block_any, {"aws:TagKeys": ["secret"]})


def test_plain_operator_does_not_match_a_multivalued_key() -> None:
    assert not holds({"StringEquals": {"aws:TagKeys": "env"}}, {"aws:TagKeys": ["env"]})
    assert not holds({"StringNotEquals": {"aws:TagKeys": "x"}}, {"aws:TagKeys": ["env"]})


def test_json_scalars_compare_as_strings() -> None:
    assert holds({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"})
    assert holds({"NumericEquals": {"k:n": 5}}, {"k:n": "5"})
    assert holds({"StringEquals": {"k:s": 12}}, {"k:s": "12"})


def test_unparseable_policy_values_never_match_and_warn() -> None:
    block = {"IpAddress": {"aws:SourceIp": "nope"}, "NumericEquals": {"k:n": "ten"}}

    assert not holds(block, {"aws:SourceIp": "203.0.113.1", "k:n": "10"})
    assert len(warnings_of(block)) == 2
    assert "Condition.IpAddress.aws:SourceIp" in warnings_of(block)[0]


def test_negated_operator_with_unparseable_request_value_is_true() -> None:
    # The base test cannot match, so the NOR is true: a Deny with NotIpAddress still denies.
    assert holds({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "garbage"})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1780315200", 1780315200),
        ("2026-06-01T12:00:00Z", 1780315200),
        ("2026-06-01T14:00:00+02:00", 1780315200),
        ("2026-06-01T12:00Z", 1780315200),
        ("2026-06-01", 1780272000),
        ("2026-06", 1780272000),
        ("2026-05", 1780272000 - 31 * 86400),
        ("1970", 0),
        ("not a date", None),
        ("2026-13-01", None),
    ],
)
def test_parse_instant(text: str, seconds: int | None) -> None:
    parsed = parse_instant(text)

    assert (parsed is None) if seconds is None else parsed == seconds


@pytest.mark.parametrize(
    ("block", "element"),
    [
        ({"stringequals": {"k:a": "b"}}, "Condition.stringequals"),
        ({"StringEqual": {"k:a": "b"}}, "Condition.StringEqual"),
        ({"ForSomeValues:StringEquals": {"k:a": "b"}}, "Condition.ForSomeValues:StringEquals"),
        ({"StringEquals": "k:a"}, "Condition.StringEquals"),
        ({"StringEquals": {"nokeyvendor": "b"}}, "Condition.StringEquals.nokeyvendor"),
        ({"StringEquals": {"k:a": {"x": 1}}}, "Condition.StringEquals.k:a"),
        ({"StringEquals": {"k:a": []}}, "Condition.StringEquals.k:a"),
        ({"StringEquals": {"k:a": None}}, "Condition.StringEquals.k:a"),
    ],
)
def test_malformed_condition_names_the_element(block: dict[str, Any], element: str) -> None:
    with pytest.raises(PolicyError) as raised:
        compile_conditions(block, element="Condition", variables=True)

    assert raised.value.element == element


def test_condition_key_needs_a_vendor_with_iam_wording() -> None:
    with pytest.raises(PolicyError, match="must be prefaced by a vendor"):
        compile_conditions({"StringEquals": {"SourceIp": "x"}}, element="C", variables=True)
