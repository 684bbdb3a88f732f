"""The Condition element: operators, set qualifiers, ``IfExists`` and missing-key rules.

Boolean shape: operators are ANDed, keys under one operator are ANDed, and the values of one
key are ORed, except for negated operators (``StringNotEquals``…), which are true only when the
request value matches none of the values (NOR). Key names are case-insensitive; values follow
their operator (``String*`` and ``Arn*`` are case-sensitive unless ``IgnoreCase``).

A key the request does not carry makes a positive operator false and a negated one true;
``…IfExists`` makes any operator true; ``ForAllValues`` is true and ``ForAnyValue`` false.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import ipaddress
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from fnurl.iam.arn import arn_pattern
from fnurl.iam.context import RequestContext, stringify
from fnurl.iam.errors import MISSING_VENDOR, SYNTAX_ERROR, PolicyError
from fnurl.iam.patterns import string_pattern
from fnurl.iam.variables import Text, Token, render, tokenize

FOR_ALL_VALUES = "ForAllValues"
FOR_ANY_VALUE = "ForAnyValue"
IF_EXISTS = "IfExists"
NULL = "Null"

# Tests one request value against one policy value.
ValueTest = Callable[[str, RequestContext], bool]

# Compiles one policy value; the flag says whether policy variables are substituted. None means
# the value can never match (a number operator given "abc"), which IAM-compatible evaluators
# treat as no match rather than as a malformed policy.
ValueCompiler = Callable[[str, bool], ValueTest | None]


@dataclass(frozen=True)
class _Operator:
    compile: ValueCompiler
    negated: bool = False
    variables: bool = False
    expects: str = "a value"


@dataclass(frozen=True)
class Condition:
    """One ``operator: {key: values}`` test, compiled."""

    operator: str
    key: str
    values: tuple[str, ...]
    negated: bool
    if_exists: bool
    qualifier: str
    tests: tuple[ValueTest, ...] = ()
    # For the Null operator: one flag per value, True for "the key must be absent".
    null_checks: tuple[bool, ...] | None = None

    def holds(self, context: RequestContext) -> bool:
        value = context.get(self.key)
        if self.null_checks is not None:
            return any((value is None) == expect_absent for expect_absent in self.null_checks)

        if value is None:
            return self._when_missing()

        if not self.qualifier:
            # A plain operator compares one value; against a multivalued key it does not
            # match (the behaviour AWS describes as undefined; iam-simulate does the same).
            return isinstance(value, str) and self._test(value, context)

        values = (value,) if isinstance(value, str) else value
        if self.qualifier == FOR_ALL_VALUES:
            return all(self._test(item, context) for item in values)

        return any(self._test(item, context) for item in values)

    def _when_missing(self) -> bool:
        if self.if_exists:
            return True

        if self.qualifier == FOR_ALL_VALUES:
            return True

        if self.qualifier == FOR_ANY_VALUE:
            return False

        return self.negated

    def _test(self, actual: str, context: RequestContext) -> bool:
        matched = any(test(actual, context) for test in self.tests)
        return not matched if self.negated else matched


def compile_conditions(
    block: object, *, element: str, variables: bool
) -> tuple[tuple[Condition, ...], tuple[str, ...]]:
    """Compile a Condition element; returns the conditions and warnings about dead values."""
    if not isinstance(block, Mapping):
        raise PolicyError(element, SYNTAX_ERROR, "must be a map of condition operators.")

    conditions: list[Condition] = []
    warnings: list[str] = []
    for operator_name, keys in block.items():
        path = f"{element}.{operator_name}"
        qualifier, base, if_exists = _split_operator(operator_name, element=path)
        if not isinstance(keys, Mapping) or not keys:
            raise PolicyError(path, SYNTAX_ERROR, "must be a map of condition keys to values.")

        for key, raw in keys.items():
            key_path = f"{path}.{key}"
            _check_key(key, element=key_path)
            values = _values(raw, element=key_path)
            condition, dead = _compile_one(
                operator_name, base, qualifier, if_exists, key, values, variables=variables
            )
            conditions.append(condition)
            warnings.extend(f"{key_path}: {value!r} {reason}" for value, reason in dead)

    return tuple(conditions), tuple(warnings)


def _compile_one(
    operator_name: str,
    base: str,
    qualifier: str,
    if_exists: bool,
    key: str,
    values: tuple[str, ...],
    *,
    variables: bool,
) -> tuple[Condition, list[tuple[str, str]]]:
    dead: list[tuple[str, str]] = []
    if base == NULL:
        checks: list[bool] = []
        for value in values:
            if value.lower() not in ("true", "false"):
                dead.append((value, "is not true or false; it never matches"))
            else:
                checks.append(value.lower() == "true")

        condition = Condition(
            operator_name,
            key,
            values,
            False,
            if_exists,
            qualifier,
            null_checks=tuple(checks),
        )
        return condition, dead

    spec = OPERATORS[base]
    tests: list[ValueTest] = []
    for value in values:
        test = spec.compile(value, variables and spec.variables)
        if test is None:
            dead.append((value, f"is not {spec.expects}; it never matches"))
        else:
            tests.append(test)

    condition = Condition(
        operator_name, key, values, spec.negated, if_exists, qualifier, tests=tuple(tests)
    )
    return condition, dead


def _split_operator(name: str, *, element: str) -> tuple[str, str, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> ("ForAnyValue", "StringLike", True)."""
    qualifier, _, rest = name.rpartition(":")
    if qualifier not in ("", FOR_ALL_VALUES, FOR_ANY_VALUE):
        detail = f"unknown set operator {qualifier!r}; use ForAllValues or ForAnyValue."
        raise PolicyError(element, SYNTAX_ERROR, detail)

    if_exists = rest.endswith(IF_EXISTS) and rest != IF_EXISTS
    base = rest.removesuffix(IF_EXISTS) if if_exists else rest
    if base != NULL and base not in OPERATORS:
        # Operator names are case-sensitive in IAM: "stringequals" is rejected.
        raise PolicyError(element, SYNTAX_ERROR, f"unknown condition operator {name!r}.")

    if base == NULL and if_exists:
        raise PolicyError(element, SYNTAX_ERROR, "Null cannot be combined with IfExists.")

    return qualifier, base, if_exists


def _check_key(key: object, *, element: str) -> None:
    if not isinstance(key, str):
        raise PolicyError(element, SYNTAX_ERROR, "condition keys must be strings.")

    vendor, colon, name = key.partition(":")
    if not (vendor and colon and name):
        raise PolicyError(element, MISSING_VENDOR, f"Condition key {key!r} has no vendor prefix.")


def _values(raw: object, *, element: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise PolicyError(element, SYNTAX_ERROR, "needs at least one value.")

    values: list[str] = []
    for item in items:
        if not isinstance(item, str | bool | int | float):
            detail = "values must be strings, numbers or booleans (or a list of them)."
            raise PolicyError(element, SYNTAX_ERROR, detail)

        values.append(stringify(item))

    return tuple(values)


# --- String operators ------------------------------------------------------------------------


def _filler(tokens: tuple[Token, ...]) -> Callable[[RequestContext], str | None]:
    if len(tokens) == 1 and isinstance(tokens[0], Text):
        text = tokens[0].value
        return lambda _context: text

    return lambda context: render(tokens, context)


def _string_equals(value: str, variables: bool) -> ValueTest:
    expected = _filler(tokenize(value, variables=variables))
    return lambda actual, context: actual == expected(context)


def _string_equals_ignore_case(value: str, variables: bool) -> ValueTest:
    expected = _filler(tokenize(value, variables=variables))

    def test(actual: str, context: RequestContext) -> bool:
        filled = expected(context)
        return filled is not None and actual.casefold() == filled.casefold()

    return test


def _string_like(value: str, variables: bool) -> ValueTest:
    pattern = string_pattern(tokenize(value, variables=variables), source=value)
    return pattern.matches


# --- Numeric and date operators --------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_EPOCH_SECONDS = re.compile(r"-?\d+(?:\.\d+)?")
_ISO_8601 = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?P<fraction>\.\d+)?)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?)?)?)?"
)

Comparison = Callable[[Decimal, Decimal], bool]


def parse_number(text: str) -> Decimal | None:
    if not _NUMBER.fullmatch(text.strip()):
        return None

    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


def parse_instant(text: str) -> Decimal | None:
    """Seconds since the epoch for an ISO 8601 date (W3C profile) or an epoch-seconds value.

    Both forms name instants, so both sides of a comparison are brought to seconds. A
    four-digit value is read as a year ("2027"), not as 2,027 seconds after 1970.
    """
    text = text.strip()
    if len(text) != 4 and _EPOCH_SECONDS.fullmatch(text):
        return Decimal(text)

    found = _ISO_8601.fullmatch(text)
    if found is None:
        return None

    def part(name: str, default: int) -> int:
        value = found.group(name)
        return int(value) if value else default

    try:
        moment = datetime(
            part("year", 1),
            part("month", 1),
            part("day", 1),
            part("hour", 0),
            part("minute", 0),
            part("second", 0),
        )
    except ValueError:
        return None

    seconds = Decimal(calendar.timegm(moment.timetuple()))
    seconds += Decimal(found.group("fraction") or 0)
    return seconds - _zone_offset(found.group("zone"))


def _zone_offset(zone: str | None) -> int:
    if not zone or zone == "Z":
        return 0

    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)


def _comparing(parse: Callable[[str], Decimal | None], compare: Comparison) -> ValueCompiler:
    def compile_value(value: str, _variables: bool) -> ValueTest | None:
        expected = parse(value)
        if expected is None:
            return None

        def test(actual: str, _context: RequestContext) -> bool:
            parsed = parse(actual)
            return parsed is not None and compare(parsed, expected)

        return test

    return compile_value


# --- Bool, binary, IP address and ARN operators ----------------------------------------------


def _bool(value: str, variables: bool) -> ValueTest | None:
    tokens = tokenize(value, variables=variables)
    expected = _filler(tokens)
    if len(tokens) == 1 and isinstance(tokens[0], Text) and value.lower() not in ("true", "false"):
        return None

    def test(actual: str, context: RequestContext) -> bool:
        filled = expected(context)
        return filled is not None and actual.lower() == filled.lower()

    return test


def _binary(value: str, _variables: bool) -> ValueTest | None:
    expected = _base64(value)
    if expected is None:
        return None

    # Binary context values travel base64-encoded, like the policy value.
    return lambda actual, _context: _base64(actual) == expected


def _base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _ip_address(value: str, _variables: bool) -> ValueTest | None:
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None

    def test(actual: str, _context: RequestContext) -> bool:
        try:
            address = ipaddress.ip_address(actual.strip())
        except ValueError:
            return False

        # Containment across IPv4 and IPv6 is not meaningful and is not rejected by ipaddress.
        return address.version == network.version and address in network

    return test


def _arn_like(value: str, variables: bool) -> ValueTest | None:
    pattern = arn_pattern(tokenize(value, variables=variables), source=value, allow_short=False)
    if pattern is None:
        return None

    return pattern.matches


def _family(
    compile_value: ValueCompiler, names: Mapping[str, bool], *, variables: bool, expects: str
) -> dict[str, _Operator]:
    return {
        name: _Operator(compile_value, negated, variables=variables, expects=expects)
        for name, negated in names.items()
    }


def _ordered(
    family: str, parse: Callable[[str], Decimal | None], expects: str
) -> dict[str, _Operator]:
    comparisons: dict[str, tuple[Comparison, bool]] = {
        "Equals": (operator.eq, False),
        "NotEquals": (operator.eq, True),
        "LessThan": (operator.lt, False),
        "LessThanEquals": (operator.le, False),
        "GreaterThan": (operator.gt, False),
        "GreaterThanEquals": (operator.ge, False),
    }
    return {
        family + suffix: _Operator(_comparing(parse, compare), negated, expects=expects)
        for suffix, (compare, negated) in comparisons.items()
    }


# Base operator names (without ForAllValues:/ForAnyValue: or IfExists). Variables are filled in
# only for String, Arn and Bool operators, as IAM documents.
OPERATORS: dict[str, _Operator] = {
    **_family(
        _string_equals,
        {"StringEquals": False, "StringNotEquals": True},
        variables=True,
        expects="a string",
    ),
    **_family(
        _string_equals_ignore_case,
        {"StringEqualsIgnoreCase": False, "StringNotEqualsIgnoreCase": True},
        variables=True,
        expects="a string",
    ),
    **_family(
        _string_like,
        {"StringLike": False, "StringNotLike": True},
        variables=True,
        expects="a string",
    ),
    **_ordered("Numeric", parse_number, "a number"),
    **_ordered("Date", parse_instant, "an ISO 8601 date or epoch seconds"),
    **_family(_bool, {"Bool": False}, variables=True, expects="true or false"),
    **_family(_binary, {"BinaryEquals": False}, variables=False, expects="base64"),
    **_family(
        _ip_address,
        {"IpAddress": False, "NotIpAddress": True},
        variables=False,
        expects="an IP address or CIDR block",
    ),
    **_family(
        _arn_like,
        {"ArnEquals": False, "ArnLike": False, "ArnNotEquals": True, "ArnNotLike": True},
        variables=True,
        expects="an ARN",
    ),
}
