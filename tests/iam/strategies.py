"""Hypothesis strategies for random IAM cases in the shared cases format.

Cases stay in the domain both fnurl and the oracle model: a Lambda function of one account,
callers of that account and another (users, role sessions, root users, anonymous callers,
a service), the policy types of a function-URL call, and condition keys with the values a
real request would carry. Values are drawn from small pools so that statements often match,
and so disagreements are about semantics rather than about unlikely strings.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

OWNER = "111122223333"
OTHER = "444455556666"
FUNCTION = f"arn:aws:lambda:us-east-1:{OWNER}:function:my-function"
ORG = "o-exampleorg1"
ORG_PATH = f"{ORG}/r-ab12/ou-ab12-11111111/"

ACTIONS = ("lambda:InvokeFunctionUrl", "lambda:InvokeFunction", "lambda:GetFunction")

Case = dict[str, Any]
Doc = dict[str, Any]


# --- callers ---------------------------------------------------------------------------------


def _user(account: str, name: str, path: str = "/") -> dict[str, Any]:
    return {
        "arn": f"arn:aws:iam::{account}:user{path}{name}",
        "account": account,
        "context": {
            "aws:PrincipalArn": f"arn:aws:iam::{account}:user{path}{name}",
            "aws:PrincipalAccount": account,
            "aws:PrincipalType": "User",
            "aws:username": name,
            "aws:userid": f"AIDA{name.upper():0<17}"[:21],
        },
        "session": False,
    }


def _session(account: str, role: str, session: str) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "account": account,
        "context": {
            "aws:PrincipalArn": f"arn:aws:iam::{account}:role/{role}",
            "aws:PrincipalAccount": account,
            "aws:PrincipalType": "AssumedRole",
            "aws:userid": f"AROAEXAMPLE{role.upper():0<10}:{session}",
        },
        "session": True,
    }


def _federated(account: str, name: str) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:sts::{account}:federated-user/{name}",
        "account": account,
        "context": {
            "aws:PrincipalArn": f"arn:aws:sts::{account}:federated-user/{name}",
            "aws:PrincipalAccount": account,
            "aws:PrincipalType": "FederatedUser",
            "aws:userid": f"{account}:{name}",
        },
        "session": True,
    }


def _root(account: str) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:iam::{account}:root",
        "account": account,
        "context": {
            "aws:PrincipalArn": f"arn:aws:iam::{account}:root",
            "aws:PrincipalAccount": account,
            "aws:PrincipalType": "Account",
            "aws:userid": account,
        },
        "session": False,
    }


CALLERS: tuple[dict[str, Any] | None, ...] = (
    _user(OWNER, "alice"),
    _user(OWNER, "carol", "/team/"),
    _user(OTHER, "bob"),
    _session(OWNER, "app", "s1"),
    _session(OTHER, "example", "s2"),
    _federated(OWNER, "dave"),
    _root(OWNER),
    _root(OTHER),
    None,  # anonymous
    {"arn": "s3.amazonaws.com", "account": None, "context": {}, "session": False},
)

# Values the Principal element names: each caller above, its role or account, and others.
PRINCIPAL_VALUES: tuple[Any, ...] = (
    "*",
    {"AWS": "*"},
    {"AWS": OWNER},
    {"AWS": OTHER},
    {"AWS": f"arn:aws:iam::{OWNER}:root"},
    {"AWS": f"arn:aws:iam::{OTHER}:root"},
    {"AWS": f"arn:aws:iam::{OWNER}:user/alice"},
    {"AWS": f"arn:aws:iam::{OWNER}:user/team/carol"},
    {"AWS": f"arn:aws:iam::{OTHER}:user/bob"},
    {"AWS": f"arn:aws:iam::{OWNER}:role/app"},
    {"AWS": f"arn:aws:iam::{OTHER}:role/example"},
    {"AWS": f"arn:aws:iam::{OTHER}:role/path/example"},
    {"AWS": f"arn:aws:sts::{OWNER}:assumed-role/app/s1"},
    {"AWS": f"arn:aws:sts::{OTHER}:assumed-role/example/other"},
    {"AWS": f"arn:aws:sts::{OWNER}:federated-user/dave"},
    {"Service": "s3.amazonaws.com"},
    {"Service": "sns.amazonaws.com"},
    {"AWS": [f"arn:aws:iam::{OWNER}:user/alice", f"arn:aws:iam::{OTHER}:role/example"]},
)

# --- actions, resources and conditions -------------------------------------------------------

ACTION_PATTERNS = (
    "lambda:InvokeFunctionUrl",
    "lambda:InvokeFunction",
    "lambda:GetFunction",
    "lambda:Invoke*",
    "lambda:*",
    "*",
    "lambda:invokefunctionurl",
    "LAMBDA:InvokeFunction",
    "lambda:InvokeFunction???",
    "lambda:Get*",
    "s3:GetObject",
)

RESOURCE_PATTERNS = (
    "*",
    FUNCTION,
    f"arn:aws:lambda:us-east-1:{OWNER}:function:my-*",
    f"arn:aws:lambda:us-east-1:{OWNER}:function:my-function:*",
    f"arn:aws:lambda:*:{OWNER}:function:my-function",
    f"arn:aws:lambda:us-east-1:{OWNER}:function:other",
    f"arn:aws:lambda:us-east-1:{OWNER}:function:My-Function",
    "arn:aws:lambda:*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:lambda:us-east-1:${aws:PrincipalAccount}:function:*",
    f"arn:aws:lambda:us-east-1:{OWNER}:function:${{aws:username}}*",
)

# key -> (operators, values): operators that make sense for the key, values to compare.
STRING_OPERATORS = (
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringEqualsIfExists",
    "StringNotEqualsIfExists",
    "StringLikeIfExists",
)
ARN_OPERATORS = ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "ArnLikeIfExists")
CONDITIONS: dict[str, tuple[tuple[str, ...], tuple[Any, ...]]] = {
    "lambda:FunctionUrlAuthType": (STRING_OPERATORS, ("AWS_IAM", "NONE", "aws_iam", "*", "A*")),
    "aws:PrincipalTag/team": (STRING_OPERATORS, ("eng", "ops", "e*", "${aws:username}")),
    "aws:username": (STRING_OPERATORS, ("alice", "bob", "a*", "${aws:PrincipalTag/team}")),
    "aws:PrincipalAccount": (STRING_OPERATORS, (OWNER, OTHER, "1111*")),
    "aws:PrincipalOrgID": (STRING_OPERATORS, (ORG, "o-otherorg22")),
    "aws:PrincipalType": (STRING_OPERATORS, ("User", "AssumedRole", "Account", "user")),
    "aws:userid": (STRING_OPERATORS, ("AIDA*", "AROA*:s1", "*:${aws:username}")),
    "aws:PrincipalArn": (
        (*ARN_OPERATORS, "StringEquals", "StringLike"),
        (
            f"arn:aws:iam::{OWNER}:user/alice",
            f"arn:aws:iam::{OWNER}:role/app",
            "arn:aws:iam::*:role/*",
            f"arn:aws:iam::{OWNER}:*",
            "arn:aws:iam::*:user/*/carol",
            "arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}",
        ),
    ),
    "aws:SecureTransport": (("Bool", "BoolIfExists"), ("true", "false", True, "TRUE")),
    "lambda:InvokedViaFunctionUrl": (("Bool", "BoolIfExists"), ("true", "false", True)),
    "aws:SourceIp": (
        ("IpAddress", "NotIpAddress", "IpAddressIfExists"),
        ("203.0.113.0/24", "198.51.100.7", "10.0.0.0/8", "2001:db8::/32", "0.0.0.0/0"),
    ),
    "aws:CurrentTime": (
        ("DateLessThan", "DateGreaterThan", "DateEquals", "DateNotEquals",
         "DateLessThanEquals", "DateGreaterThanEqualsIfExists"),
        ("2026-06-01T12:00:00Z", "2026-01-01T00:00:00Z", "2027-01-01", "2026-06-01T13:00:00+01:00",
         "1893456000", "1780315200"),
    ),
    "aws:EpochTime": (
        ("DateLessThan", "DateGreaterThanEquals", "DateEquals", "NumericLessThan"),
        ("1780315200", "1893456000", "2026-06-01T12:00:00Z", "2026-01-01"),
    ),
    "aws:MultiFactorAuthAge": (
        ("NumericLessThan", "NumericGreaterThan", "NumericEquals", "NumericNotEquals",
         "NumericLessThanEqualsIfExists"),
        ("3600", "60", "0", "3600.0"),
    ),
    "aws:PrincipalOrgPaths": (
        ("ForAnyValue:StringLike", "ForAllValues:StringLike", "ForAnyValue:StringEquals",
         "ForAllValues:StringNotEquals", "ForAnyValue:StringNotLike"),
        (f"{ORG}/r-ab12/*", ORG_PATH, f"{ORG}/r-ab12/ou-ab12-22222222/*", "o-*"),
    ),
}
NULL_KEYS = ("aws:PrincipalTag/team", "aws:PrincipalOrgID", "lambda:FunctionUrlAuthType",
             "aws:MultiFactorAuthAge", "aws:username")
SOURCE_IPS = ("203.0.113.10", "198.51.100.7", "10.1.2.3", "2001:db8::1", "192.0.2.44")


@st.composite
def _condition_block(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    block: dict[str, dict[str, Any]] = {}
    for _ in range(draw(st.integers(1, 2))):
        if draw(st.integers(0, 9)) == 0:
            key = draw(st.sampled_from(NULL_KEYS))
            block.setdefault("Null", {})[key] = draw(st.sampled_from(("true", "false")))
            continue

        key = draw(st.sampled_from(sorted(CONDITIONS)))
        operators, values = CONDITIONS[key]
        operator = draw(st.sampled_from(operators))
        chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True))
        block.setdefault(operator, {})[key] = chosen[0] if len(chosen) == 1 else chosen

    return block


def _one_or_list(draw: st.DrawFn, pool: tuple[Any, ...]) -> Any:
    chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
    return chosen[0] if len(chosen) == 1 else chosen


@st.composite
def statements(draw: st.DrawFn, *, with_principal: bool) -> Doc:
    effect = draw(st.sampled_from(("Allow", "Allow", "Deny")))
    statement: Doc = {"Effect": effect}
    if with_principal:
        negated = effect == "Deny" and draw(st.integers(0, 5)) == 0
        element = "NotPrincipal" if negated else "Principal"
        pool = PRINCIPAL_VALUES[2:] if negated else PRINCIPAL_VALUES
        statement[element] = draw(st.sampled_from(pool))

    not_action = draw(st.integers(0, 9)) == 0
    statement["NotAction" if not_action else "Action"] = _one_or_list(draw, ACTION_PATTERNS)
    not_resource = draw(st.integers(0, 9)) == 0
    statement["NotResource" if not_resource else "Resource"] = _one_or_list(
        draw, RESOURCE_PATTERNS
    )
    if draw(st.booleans()):
        statement["Condition"] = draw(_condition_block())

    return statement


@st.composite
def policies(draw: st.DrawFn, *, with_principal: bool = False, most: int = 3) -> Doc:
    version = draw(st.sampled_from(("2012-10-17", "2012-10-17", "2012-10-17", "2008-10-17", None)))
    found = draw(st.lists(statements(with_principal=with_principal), min_size=1, max_size=most))
    document: Doc = {"Statement": found}
    if version is not None:
        document = {"Version": version, **document}

    return document


FULL_ACCESS: Doc = {"Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@st.composite
def _levels(draw: st.DrawFn, names: tuple[str, ...]) -> list[Doc]:
    count = draw(st.integers(0, len(names)))
    levels = []
    for target in names[:count]:
        attached = draw(st.lists(policies(most=2), max_size=2))
        if draw(st.integers(0, 3)) > 0:
            attached.insert(0, FULL_ACCESS)
        if not attached:
            attached = [FULL_ACCESS]
        levels.append({"target": target, "policies": attached})

    return levels


@st.composite
def _context(draw: st.DrawFn, caller: dict[str, Any] | None, action: str) -> dict[str, Any]:
    context: dict[str, Any] = dict(caller["context"]) if caller else {}
    context["aws:SourceIp"] = draw(st.sampled_from(SOURCE_IPS))
    context["aws:SecureTransport"] = draw(st.sampled_from(("true", "false")))
    if draw(st.booleans()):
        context["aws:CurrentTime"] = "2026-06-01T12:00:00Z"
        context["aws:EpochTime"] = "1780315200"

    if action == "lambda:InvokeFunctionUrl" and draw(st.integers(0, 5)) > 0:
        context["lambda:FunctionUrlAuthType"] = draw(st.sampled_from(("AWS_IAM", "NONE")))
    if action == "lambda:InvokeFunction" and draw(st.booleans()):
        context["lambda:InvokedViaFunctionUrl"] = "true"

    has_principal_keys = caller is not None and caller["account"] is not None
    if has_principal_keys and draw(st.booleans()):
        context["aws:PrincipalTag/team"] = draw(st.sampled_from(("eng", "ops", "alice")))
    if has_principal_keys and draw(st.booleans()):
        context["aws:PrincipalOrgID"] = ORG
        paths = draw(st.lists(st.sampled_from((ORG_PATH, f"{ORG}/r-ab12/")), max_size=2,
                              unique=True))
        if paths:
            context["aws:PrincipalOrgPaths"] = paths
    if has_principal_keys and draw(st.integers(0, 3)) == 0:
        context["aws:MultiFactorAuthAge"] = draw(st.sampled_from(("30", "7200", "3600")))

    return context


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """One random case: a caller, an action on the function, policies and a context."""
    caller = draw(st.sampled_from(CALLERS))
    action = draw(st.sampled_from(ACTIONS))
    has_identity_side = caller is not None and caller["account"] is not None
    is_root = caller is not None and caller["arn"].endswith(":root")
    chosen: Doc = {"identity": [], "resource": None, "scps": [], "boundary": None}
    if has_identity_side:
        # The root user cannot have identity policies or a boundary; SCPs still apply.
        if not is_root:
            chosen["identity"] = draw(st.lists(policies(), max_size=2))
        if not is_root and draw(st.integers(0, 3)) == 0:
            chosen["boundary"] = draw(policies(most=2))
        if caller is not None and caller["session"] and draw(st.integers(0, 4)) == 0:
            chosen["session"] = draw(policies(most=2))
        chosen["scps"] = draw(_levels(("root", "ou-ab12-11111111", caller["account"])))

    if draw(st.integers(0, 4)) > 0:
        chosen["resource"] = draw(policies(with_principal=True, most=4))
    # Hypothesis favours the ends of a range; a value in the middle keeps RCPs rare.
    if draw(st.integers(0, 19)) == 7:
        rcp = draw(st.sampled_from((
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Principal": "*", "Action": "lambda:*", "Resource": "*"}]},
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Principal": "*", "Action": "lambda:*", "Resource": "*",
                 "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": ORG}}}]},
        )))
        chosen["rcps"] = [{"target": "root", "policies": [rcp]}]

    return {
        "id": "generated",
        "policies": chosen,
        "request": {
            "principal_arn": caller["arn"] if caller else None,
            "principal_account": caller["account"] if caller else None,
            "action": action,
            "resource": draw(st.sampled_from((FUNCTION, FUNCTION, f"{FUNCTION}:prod"))),
            "context": draw(_context(caller, action)),
        },
        "resource_account": OWNER,
    }
