"""Differential testing: random cases decided by fnurl and by an independent evaluator.

The oracle is @cloud-copilot/iam-simulate, run as a separate node process (see
``tests/iam/oracle.py``); the test skips when node or the oracle's packages are missing. Every
disagreement must be one of ``DIVERGENCES``: a known way the oracle departs from AWS, with the
AWS page that decides it (spec iam-evaluation.md section 7). Each entry re-checks the case
so that it only excuses the disagreement it is about.

CI runs a small derandomized batch. A large batch by hand, with a summary printed at the end:

    FNURL_DIFF_EXAMPLES=5000 pytest tests/iam/test_differential.py -s
"""

from __future__ import annotations

import copy
import ipaddress
import itertools
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from fnurl.iam import RCP_SUPPORTED_SERVICES, RequestContext, evaluate
from fnurl.iam.conditions import parse_instant
from fnurl.iam.simulate import UNSIGNED_AWS_IAM, build_case, simulate_case
from tests.iam.oracle import Oracle, OracleUnavailable
from tests.iam.strategies import Case, cases
from tests.iam.test_cases import CASES

EXAMPLES = int(os.environ.get("FNURL_DIFF_EXAMPLES", "200"))

@dataclass(frozen=True)
class Divergence:
    """A known way the oracle departs from AWS, and the AWS page that decides it.

    ``rewrite`` changes a copy of a case so that fnurl, evaluating it, reproduces the oracle's
    reading (True if it changed anything); a disagreement counts as explained only when fnurl
    then agrees with the oracle.
    """

    name: str
    aws_doc: str
    rewrite: Callable[[Case], bool]


def _statements(case: Case, *, variables_only: bool = False) -> Iterator[dict[str, Any]]:
    for document in _documents(case):
        if variables_only and document.get("Version") != "2012-10-17":
            continue

        found = document["Statement"]
        yield from found if isinstance(found, list) else [found]


def _documents(case: Case) -> Iterator[dict[str, Any]]:
    policies = case["policies"]
    yield from policies.get("identity") or []
    for key in ("resource", "boundary", "session"):
        if policies.get(key):
            yield policies[key]
    for key in ("scps", "rcps"):
        for level in policies.get(key) or []:
            yield from level["policies"]


def _conditions(case: Case, *, variables_only: bool = False) -> Iterator[
    tuple[dict[str, Any], str, str, list[Any]]
]:
    """(block, operator, key, values) of every condition, on a snapshot of the keys."""
    for statement in _statements(case, variables_only=variables_only):
        block = statement.get("Condition") or {}
        for operator in list(block):
            for key in list(block[operator]):
                raw = block[operator][key]
                yield block, operator, key, raw if isinstance(raw, list) else [raw]


def _base(operator: str) -> str:
    return operator.rpartition(":")[2].removesuffix("IfExists")


def _never(block: dict[str, Any], operator: str, key: str) -> None:
    """Replace one condition by one that is always false (a key no request carries)."""
    del block[operator][key]
    if not block[operator]:
        del block[operator]
    block.setdefault("Null", {})["fnurl:oracle-view"] = "false"


_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _unresolved(text: str, context: dict[str, Any]) -> bool:
    keys = {key.lower(): value for key, value in context.items()}
    for body in _VARIABLE.findall(text):
        name, _, default = body.partition(",")
        if body in ("*", "?", "$") or default.strip():
            continue
        if not isinstance(keys.get(name.strip().lower()), str):
            return True
    return False


def _arn_resource_part(value: str) -> str:
    return value.split(":", 5)[5] if value.count(":") >= 5 else ""


def _variables_regardless_of_version(case: Case) -> bool:
    changed = False
    for document in _documents(case):
        if document.get("Version") != "2012-10-17" and "${" in json.dumps(document):
            document["Version"] = "2012-10-17"
            changed = True
    return changed


def _unresolved_variables_fail_negations(case: Case) -> bool:
    context = case["request"]["context"]
    changed = False
    for block, operator, key, values in _conditions(case, variables_only=True):
        base = _base(operator)
        negated = base.startswith(("StringNot", "ArnNot"))
        parts = [_arn_resource_part(v) if base.startswith("Arn") else v for v in values]
        if negated and any(_unresolved(str(part), context) for part in parts):
            _never(block, operator, key)
            changed = True

    for statement in _statements(case, variables_only=True):
        listed = statement.get("NotResource")
        entries = listed if isinstance(listed, list) else [listed] if listed else []
        if any(_unresolved(_arn_resource_part(entry), context) for entry in entries):
            statement["NotResource"] = "*"
            changed = True
    return changed


def _arn_variables_only_in_resource_part(case: Case) -> bool:
    changed = False
    for block, operator, key, values in _conditions(case, variables_only=True):
        if not _base(operator).startswith("Arn"):
            continue
        prefixes = [str(v)[: len(str(v)) - len(_arn_resource_part(str(v)))] for v in values]
        if any("${" in prefix for prefix in prefixes):
            block[operator][key] = [
                "arn:aws:iam::000000000000:oracle-view/never" if "${" in prefix else value
                for value, prefix in zip(values, prefixes, strict=True)
            ]
            changed = True
    return changed


def _zero_length_cidr(case: Case) -> bool:
    changed = False
    for block, operator, key, values in _conditions(case):
        if _base(operator) in ("IpAddress", "NotIpAddress"):
            narrowed = [{"0.0.0.0/0": "0.0.0.0/32", "::/0": "::/128"}.get(v, v) for v in values]
            if narrowed != values:
                block[operator][key] = narrowed
                changed = True
    return changed


def _mixed_ip_versions_in_negation(case: Case) -> bool:
    source = case["request"]["context"].get("aws:SourceIp")
    if not isinstance(source, str):
        return False

    version = ipaddress.ip_address(source).version
    changed = False
    for block, operator, key, values in _conditions(case):
        if _base(operator) != "NotIpAddress" or key.lower() != "aws:sourceip":
            continue
        if any(ipaddress.ip_network(v, strict=False).version != version for v in values):
            _never(block, operator, key)
            changed = True
    return changed


def _date_units_mixed(case: Case) -> bool:
    # The oracle reads an all-digit date as epoch seconds and an ISO 8601 date as epoch
    # milliseconds, then compares the numbers. Scaling the policy value by 1000 the other
    # way makes fnurl compare the same numbers.
    context = case["request"]["context"]
    changed = False
    for block, operator, key, values in _conditions(case):
        actual = context.get(key)
        if not _base(operator).startswith("Date") or not isinstance(actual, str):
            continue

        rewritten = [_oracle_date(str(value), actual.isdigit()) for value in values]
        if rewritten != [str(value) for value in values]:
            block[operator][key] = rewritten
            changed = True
    return changed


def _oracle_date(value: str, request_in_seconds: bool) -> str:
    instant = parse_instant(value)
    if instant is None or value.isdigit() == request_in_seconds:
        return value

    if request_in_seconds:
        return str(int(instant * 1000))

    return str(instant / 1000)


def _no_root_user_access(case: Case) -> bool:
    # Read as a user of the same account with no policies, the root user gets what the
    # oracle gives it: nothing beyond resource-policy grants.
    request = case["request"]
    arn = request["principal_arn"] or ""
    if not arn.endswith(":root"):
        return False

    request["principal_arn"] = arn.replace(":root", ":user/oracle-view-of-root")
    return True


def _session_policy_not_bypassed(case: Case) -> bool:
    # The oracle lets no resource-policy grant override a session policy's implicit deny;
    # AWS lets grants to "*" and to the session itself do so. Without those grants, fnurl
    # reads the case as the oracle does.
    policies = case["policies"]
    resource = policies.get("resource")
    if not policies.get("session") or not resource:
        return False

    request, parsed = build_case(case)
    context = RequestContext(request.context)
    assert parsed.session is not None
    if any(
        statement.effect == "Allow"
        and statement.applies(request.principal, request.action, request.resource, context)
        for statement in parsed.session.statements
    ):
        return False

    session_arn = request.principal.arn
    statements = resource["Statement"]
    statements = statements if isinstance(statements, list) else [statements]
    kept = [
        statement
        for statement in statements
        if statement["Effect"] != "Allow"
        or not _names_directly(statement.get("Principal"), session_arn)
    ]
    if len(kept) == len(statements):
        return False

    resource["Statement"] = kept or [{"Effect": "Deny", "Principal": "*", "Action": "none:none",
                                      "Resource": "*"}]
    return True


def _names_directly(principal: Any, session_arn: str | None) -> bool:
    if principal == "*":
        return True

    if not isinstance(principal, dict):
        return False

    values = principal.get("AWS", [])
    values = values if isinstance(values, list) else [values]
    return "*" in values or session_arn in values


def _federated_session_keeps_user_permissions(case: Case) -> bool:
    # The oracle gives a GetFederationToken session without a session policy its user's
    # permissions; AWS gives it none. An allow-all session policy is the oracle's reading.
    arn = case["request"]["principal_arn"] or ""
    if ":federated-user/" not in arn or case["policies"].get("session"):
        return False

    case["policies"]["session"] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    return True


def _rcps_present(case: Case) -> bool:
    return bool(case["policies"].get("rcps"))


IAM_GUIDE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
RCPS_FOR_LAMBDA = Divergence(
    "applies resource control policies to Lambda, which RCPs do not support",
    "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html",
    _rcps_present,
)
DIVERGENCES = (
    Divergence(
        "no full access for the root user in its own account",
        IAM_GUIDE + "reference_policies_evaluation-logic_policy-eval-denyallow.html",
        _no_root_user_access,
    ),
    RCPS_FOR_LAMBDA,
    Divergence(
        'a same-account grant to "*" or to the session does not override an implicit deny in '
        "the session policy",
        IAM_GUIDE + "reference_policies_evaluation-logic_policy-eval-denyallow.html",
        _session_policy_not_bypassed,
    ),
    Divergence(
        "a federated-user session without a session policy keeps its user's permissions",
        "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html",
        _federated_session_keeps_user_permissions,
    ),
    Divergence(
        "substitutes policy variables whatever the Version",
        IAM_GUIDE + "reference_policies_elements_version.html",
        _variables_regardless_of_version,
    ),
    Divergence(
        "a variable with no value makes negated operators and NotResource entries fail "
        "(AWS: negated operators match a null value)",
        IAM_GUIDE + "reference_policies_variables.html#policy-vars-no-value",
        _unresolved_variables_fail_negations,
    ),
    Divergence(
        "substitutes variables in Arn* condition values only after the fifth colon",
        IAM_GUIDE + "reference_policies_variables.html#policy-vars-wheretouse",
        _arn_variables_only_in_resource_part,
    ),
    Divergence(
        "compares an epoch-seconds date with an ISO 8601 date in mismatched units",
        IAM_GUIDE + "reference_policies_elements_condition_operators.html#Conditions_Date",
        _date_units_mixed,
    ),
    Divergence(
        "a /0 CIDR block matches only its base address",
        IAM_GUIDE + "reference_policies_elements_condition_operators.html#Conditions_IPAddress",
        _zero_length_cidr,
    ),
    Divergence(
        "NotIpAddress is false when the address and a block are of different IP versions",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/ipv6-access.html",
        _mixed_ip_versions_in_negation,
    ),
)
UNSIGNED = "an unsigned call to an AWS_IAM URL is refused before evaluation (emulator layer)"


def _fnurl_reading(case: Case, divergences: tuple[Divergence, ...]) -> str:
    """fnurl's decision on the case as the oracle reads it under ``divergences``."""
    view = copy.deepcopy(case)
    for divergence in DIVERGENCES:
        if divergence in divergences:
            divergence.rewrite(view)

    services = set(RCP_SUPPORTED_SERVICES)
    if RCPS_FOR_LAMBDA in divergences:
        services.add("lambda")
    request, policies = build_case(view)
    return evaluate(request, policies, rcp_services=services).outcome


def classify(case: Case, fnurl: str, oracle: str) -> tuple[str, ...] | None:
    """("agree",), the divergences that explain a disagreement, or None if none does."""
    if fnurl == oracle:
        return ("agree",)

    if UNSIGNED_AWS_IAM in simulate_case(case).get("reasons", []):
        return (UNSIGNED,)

    # Rewrites build on each other (variables count only once the Version allows them), so
    # collect them in order on one copy, then look for the smallest set that explains it.
    view = copy.deepcopy(case)
    found = [divergence for divergence in DIVERGENCES if divergence.rewrite(view)]
    for size in range(1, len(found) + 1):
        for chosen in itertools.combinations(found, size):
            if _fnurl_reading(case, chosen) == oracle:
                return tuple(divergence.name for divergence in chosen)

    return None


@pytest.fixture(scope="module")
def oracle() -> Iterator[Oracle]:
    try:
        process = Oracle()
    except OracleUnavailable as exc:
        pytest.skip(f"IAM oracle unavailable: {exc}")

    yield process
    process.close()


@pytest.fixture(scope="module")
def tally() -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    yield counts
    total = sum(counts.values())
    print(f"\ndifferential run: {total} cases, {counts['agree']} agree")
    for name, count in counts.most_common():
        if name != "agree":
            print(f"  {count:6d}  {name}")


def test_classify_needs_a_named_divergence() -> None:
    """A disagreement no divergence explains is reported as such, not excused."""
    case: Case = {
        "policies": {"identity": [], "resource": None, "scps": []},
        "request": {"principal_arn": "arn:aws:iam::111122223333:user/alice",
                    "principal_account": "111122223333", "action": "lambda:InvokeFunction",
                    "resource": "arn:aws:lambda:us-east-1:111122223333:function:f",
                    "context": {}},
        "resource_account": "111122223333",
    }

    assert classify(case, "ImplicitDeny", "ImplicitDeny") == ("agree",)
    assert classify(case, "ImplicitDeny", "Allow") is None


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_shared_cases_agree_with_the_oracle_or_diverge_as_documented(
    case: Case, oracle: Oracle, tally: Counter[str]
) -> None:
    fnurl = simulate_case(case)["decision"]
    theirs = oracle.decide(case)["decision"]

    verdict = classify(case, fnurl, theirs)

    assert verdict is not None, f"{case['id']}: fnurl {fnurl}, oracle {theirs}"
    tally.update(verdict)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize="FNURL_DIFF_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
def test_fnurl_agrees_with_the_oracle(case: Case, oracle: Oracle, tally: Counter[str]) -> None:
    mine = simulate_case(case)
    theirs = oracle.decide(case)
    fnurl = mine.get("decision", "Error")

    verdict = classify(case, fnurl, theirs["decision"])

    assert verdict is not None, (
        f"fnurl says {fnurl}, the oracle {theirs['decision']}, and no known divergence "
        f"explains it.\nfnurl: {mine}\noracle: {theirs}\ncase: {json.dumps(case)}"
    )
    tally.update(verdict)
