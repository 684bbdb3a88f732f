"""Policy documents: grammar, validation and compilation into fast statement tests.

A document is parsed and checked once (errors name the element, with IAM's own wording), and
every statement is compiled: actions into one case-insensitive regular expression, resources
into segment-aware ARN patterns, the principal element into classified entries, and the
condition block into operator tests. Evaluating a request then only runs those.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fnurl.iam.arn import arn_pattern, service_segment
from fnurl.iam.conditions import Condition, compile_conditions
from fnurl.iam.context import RequestContext
from fnurl.iam.errors import (
    BAD_SID,
    DUPLICATE_SID,
    MISSING_ACTIONS,
    MISSING_RESOURCES,
    MISSING_VENDOR,
    PRINCIPAL_NOT_ALLOWED,
    SYNTAX_ERROR,
    PolicyError,
)
from fnurl.iam.patterns import Pattern, glob_regex
from fnurl.iam.principals import (
    Principal,
    PrincipalMatch,
    PrincipalSet,
    parse_principal_element,
)
from fnurl.iam.variables import POLICY_VARIABLES_VERSION, Text, Token, tokenize

VERSIONS = (POLICY_VARIABLES_VERSION, "2008-10-17")
ALLOW = "Allow"
DENY = "Deny"

_DOCUMENT_ELEMENTS = ("Version", "Id", "Statement")
_STATEMENT_ELEMENTS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)

_IAM_SID = re.compile(r"[0-9A-Za-z]*")
# Function policies are written through AddPermission, whose StatementId is more permissive.
_LAMBDA_SID = re.compile(r"[0-9A-Za-z_-]{0,100}")
_VENDOR = re.compile(r"[A-Za-z0-9*?-]+")


class PolicyKind(enum.Enum):
    """Where a policy is attached, which decides its grammar and its role in evaluation."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    BOUNDARY = "boundary"
    SESSION = "session"
    SCP = "scp"
    TRUST = "trust"
    RCP = "rcp"


_PRINCIPAL_REQUIRED = frozenset({PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.RCP})
_NOT_PRINCIPAL_FORBIDDEN = frozenset({PolicyKind.TRUST, PolicyKind.RCP})

_KIND_LABELS = {
    PolicyKind.IDENTITY: "identity policy",
    PolicyKind.RESOURCE: "resource policy of",
    PolicyKind.BOUNDARY: "permissions boundary",
    PolicyKind.SESSION: "session policy",
    PolicyKind.SCP: "service control policy",
    PolicyKind.TRUST: "trust policy of",
    PolicyKind.RCP: "resource control policy",
}


@dataclass(frozen=True, eq=False)
class Statement:
    """One compiled statement. ``resources`` is None when it has no Resource element (trust)."""

    index: int
    sid: str | None
    effect: str
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...] | None
    not_resource: bool
    principals: PrincipalSet | None
    not_principal: bool
    conditions: tuple[Condition, ...]
    action_regex: re.Pattern[str] = field(repr=False)
    resource_patterns: tuple[Pattern | None, ...] = field(repr=False)

    @property
    def ref(self) -> str:
        """How reasons name this statement: its Sid, else its position."""
        return f"statement {self.sid!r}" if self.sid else f"Statement[{self.index}]"

    def matches_action(self, action: str) -> bool:
        listed = self.action_regex.fullmatch(action) is not None
        return listed != self.not_action

    def matches_resource(self, resource: str, context: RequestContext) -> bool:
        if self.resources is None:
            return True

        # None stands for "*"; it needs no regular expression.
        listed = any(
            pattern is None or pattern.matches(resource, context)
            for pattern in self.resource_patterns
        )
        return listed != self.not_resource

    def matches_principal(
        self, principal: Principal, *, has_boundary: bool
    ) -> PrincipalMatch | None:
        if self.principals is None:
            return PrincipalMatch.NO_PRINCIPAL_ELEMENT

        found = self.principals.match(principal)
        if not self.not_principal:
            return found

        # AWS documents that NotPrincipal with Deny always denies a principal that has a
        # permissions boundary, whatever the list says.
        if found is None or has_boundary:
            return PrincipalMatch.NOT_PRINCIPAL

        return None

    def conditions_hold(self, context: RequestContext) -> bool:
        return all(condition.holds(context) for condition in self.conditions)

    def applies(
        self,
        principal: Principal,
        action: str,
        resource: str,
        context: RequestContext,
        *,
        has_boundary: bool = False,
    ) -> PrincipalMatch | None:
        """How the statement matched the request, or None if it does not apply to it."""
        if not self.matches_action(action):
            return None

        found = self.matches_principal(principal, has_boundary=has_boundary)
        if found is None:
            return None

        if not self.matches_resource(resource, context) or not self.conditions_hold(context):
            return None

        return found


@dataclass(frozen=True, eq=False)
class Policy:
    """A parsed, validated and compiled policy document."""

    name: str
    kind: PolicyKind
    document: dict[str, Any]
    statements: tuple[Statement, ...]
    version: str | None = None
    id: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def variables_enabled(self) -> bool:
        return self.version == POLICY_VARIABLES_VERSION

    @property
    def label(self) -> str:
        """How reasons name this policy, e.g. ``identity policy alice#0``."""
        kind = _KIND_LABELS[self.kind]
        bare_kind = kind.removesuffix(" of")
        if not self.name:
            return bare_kind

        if self.name.lower().startswith(bare_kind):
            # The caller already passed a full label; do not say "identity policy" twice.
            return self.name

        return f"{kind} {self.name}"


def parse_policy(document: Mapping[str, Any] | str, kind: PolicyKind, *, name: str = "") -> Policy:
    """Parse, validate and compile a policy document (a JSON string or a decoded mapping).

    Raises PolicyError naming the offending element.
    """
    try:
        return _parse(document, kind, name)
    except PolicyError as error:
        if name:
            raise error.with_policy_name(name) from None

        raise


def check_size(document: Mapping[str, Any] | str, kind: PolicyKind) -> None:
    """Raise PolicyError when a document exceeds the AWS quota for one policy of its kind.

    Function policies: 20,480 bytes of JSON; SCPs and RCPs: 5,120 characters, whitespace
    included; role trust policies: 2,048 and managed identity policies or boundaries: 6,144
    characters, whitespace excluded. Aggregate quotas (all inline policies of a user) are the
    caller's to add up. Session policies are not checked.
    """
    text = document if isinstance(document, str) else json.dumps(document, separators=(",", ":"))
    packed = len("".join(text.split()))
    if kind is PolicyKind.RESOURCE:
        size = len(text.encode())
        if size > 20480:
            detail = f"The final policy size ({size}) is bigger than the limit (20480)."
            raise PolicyError("", "Policy length exceeded.", detail)

        return

    limits = {
        PolicyKind.SCP: (len(text), 5120),
        PolicyKind.RCP: (len(text), 5120),
        PolicyKind.TRUST: (packed, 2048),
        PolicyKind.IDENTITY: (packed, 6144),
        PolicyKind.BOUNDARY: (packed, 6144),
    }
    if kind not in limits:
        return

    size, limit = limits[kind]
    if size > limit:
        detail = f"{size} characters; the limit for this kind of policy is {limit}."
        raise PolicyError("", "Cannot exceed quota for PolicySize.", detail)


def _parse(document: Mapping[str, Any] | str, kind: PolicyKind, name: str) -> Policy:
    decoded = _decode(document)
    for element in decoded:
        if element not in _DOCUMENT_ELEMENTS:
            detail = f"unknown element {element!r}; a policy has Version, Id and Statement."
            raise PolicyError(str(element), SYNTAX_ERROR, detail)

    version = decoded.get("Version")
    if version is not None and version not in VERSIONS:
        detail = f'Version must be "2012-10-17" or "2008-10-17", not {version!r}.'
        raise PolicyError("Version", SYNTAX_ERROR, detail)

    policy_id = decoded.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise PolicyError("Id", SYNTAX_ERROR, "Id must be a string.")

    statements, warnings = _statements(
        decoded.get("Statement"), kind, variables=version == POLICY_VARIABLES_VERSION
    )
    return Policy(name, kind, decoded, statements, version, policy_id, warnings)


def _decode(document: Mapping[str, Any] | str) -> dict[str, Any]:
    if isinstance(document, str):
        try:
            decoded = json.loads(document, object_pairs_hook=_reject_duplicates)
        except json.JSONDecodeError as error:
            detail = f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
            raise PolicyError("", SYNTAX_ERROR, detail) from None
    else:
        decoded = document

    if not isinstance(decoded, Mapping):
        raise PolicyError("", SYNTAX_ERROR, "a policy document must be a JSON object.")

    return dict(decoded)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise PolicyError(key, SYNTAX_ERROR, f"element {key!r} appears twice.")

        seen[key] = value

    return seen


def _statements(
    raw: object, kind: PolicyKind, *, variables: bool
) -> tuple[tuple[Statement, ...], tuple[str, ...]]:
    if raw is None:
        raise PolicyError("Statement", SYNTAX_ERROR, "the document has no Statement element.")

    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise PolicyError("Statement", SYNTAX_ERROR, "Statement must not be an empty list.")

    statements: list[Statement] = []
    warnings: list[str] = []
    sids: set[str] = set()
    for index, item in enumerate(items):
        path = f"Statement[{index}]" if isinstance(raw, list) else "Statement"
        statement, found = _statement(item, index, path, kind, variables=variables)
        if statement.sid:
            if statement.sid in sids:
                raise PolicyError(f"{path}.Sid", DUPLICATE_SID, f"{statement.sid!r} repeats.")

            sids.add(statement.sid)

        statements.append(statement)
        warnings.extend(found)

    return tuple(statements), tuple(warnings)


def _statement(
    raw: object, index: int, path: str, kind: PolicyKind, *, variables: bool
) -> tuple[Statement, list[str]]:
    if not isinstance(raw, Mapping):
        raise PolicyError(path, SYNTAX_ERROR, "a statement must be a JSON object.")

    for element in raw:
        if element not in _STATEMENT_ELEMENTS:
            detail = f"unknown element {element!r}; statements contain {_STATEMENT_ELEMENTS}."
            raise PolicyError(f"{path}.{element}", SYNTAX_ERROR, detail)

    sid = _sid(raw.get("Sid"), kind, element=f"{path}.Sid")
    effect = raw.get("Effect")
    if effect not in (ALLOW, DENY):
        detail = f'Effect must be exactly "Allow" or "Deny", not {effect!r}.'
        raise PolicyError(f"{path}.Effect", SYNTAX_ERROR, detail)

    actions, not_action = _one_of(raw, "Action", "NotAction", path, missing=MISSING_ACTIONS)
    action_texts = _actions(actions, element=f"{path}.{'NotAction' if not_action else 'Action'}")

    resources: tuple[str, ...] | None = None
    patterns: tuple[Pattern | None, ...] = ()
    not_resource = False
    if kind is not PolicyKind.TRUST or "Resource" in raw or "NotResource" in raw:
        values, not_resource = _one_of(
            raw, "Resource", "NotResource", path, missing=MISSING_RESOURCES
        )
        element = f"{path}.{'NotResource' if not_resource else 'Resource'}"
        resources, patterns = _resources(values, element=element, variables=variables)

    principals, not_principal, warnings = _principal(raw, path, kind, effect=str(effect))
    conditions: tuple[Condition, ...] = ()
    if "Condition" in raw:
        conditions, condition_warnings = compile_conditions(
            raw["Condition"], element=f"{path}.Condition", variables=variables
        )
        warnings.extend(condition_warnings)

    statement = Statement(
        index=index,
        sid=sid,
        effect=str(effect),
        actions=action_texts,
        not_action=not_action,
        resources=resources,
        not_resource=not_resource,
        principals=principals,
        not_principal=not_principal,
        conditions=conditions,
        action_regex=_action_regex(action_texts),
        resource_patterns=patterns,
    )
    return statement, warnings


def _sid(raw: object, kind: PolicyKind, *, element: str) -> str | None:
    if raw is None:
        return None

    if not isinstance(raw, str):
        raise PolicyError(element, SYNTAX_ERROR, "Sid must be a string.")

    if kind is PolicyKind.RESOURCE:
        if not _LAMBDA_SID.fullmatch(raw):
            detail = f"{raw!r}: use letters, digits, '-' and '_' (at most 100 characters)."
            raise PolicyError(element, SYNTAX_ERROR, detail)
    elif not _IAM_SID.fullmatch(raw):
        detail = f"Check that {raw!r} satisfies the regular expression [0-9A-Za-z]*."
        raise PolicyError(element, BAD_SID, detail)

    return raw or None


def _one_of(
    raw: Mapping[str, Any], positive: str, negative: str, path: str, *, missing: str
) -> tuple[list[str], bool]:
    """The values of ``Action`` or ``NotAction`` (or Resource...), and whether it was the Not."""
    if positive in raw and negative in raw:
        detail = f"a statement has either {positive} or {negative}, not both."
        raise PolicyError(f"{path}.{negative}", SYNTAX_ERROR, detail)

    if positive not in raw and negative not in raw:
        raise PolicyError(path, missing, f"Add {positive} or {negative}.")

    negated = negative in raw
    element = negative if negated else positive
    value = raw[element]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        raise PolicyError(f"{path}.{element}", missing, "Give a string or a list of strings.")

    for position, item in enumerate(values):
        if not isinstance(item, str):
            raise PolicyError(f"{path}.{element}[{position}]", SYNTAX_ERROR, "must be a string.")

    return values, negated


def _actions(values: list[str], *, element: str) -> tuple[str, ...]:
    for position, action in enumerate(values):
        path = f"{element}[{position}]" if len(values) > 1 else element
        if action == "*":
            continue

        vendor, colon, name = action.partition(":")
        if not colon:
            raise PolicyError(path, MISSING_VENDOR, f"Action {action!r} has no vendor prefix.")

        if not _VENDOR.fullmatch(vendor):
            raise PolicyError(path, f"Vendor {vendor} is not valid")

        if not name:
            raise PolicyError(path, SYNTAX_ERROR, f"Action {action!r} has no action name.")

    return tuple(values)


def _action_regex(actions: tuple[str, ...]) -> re.Pattern[str]:
    # Service prefixes and action names are both case-insensitive in IAM.
    alternatives = "|".join(f"(?:{glob_regex(action)})" for action in actions)
    return re.compile(alternatives, re.IGNORECASE | re.DOTALL)


def _resources(
    values: list[str], *, element: str, variables: bool
) -> tuple[tuple[str, ...], tuple[Pattern | None, ...]]:
    patterns: list[Pattern | None] = []
    for position, value in enumerate(values):
        path = f"{element}[{position}]" if len(values) > 1 else element
        if value == "*":
            patterns.append(None)
            continue

        not_an_arn = f'Resource {value} must be in ARN format or "*".'
        pattern = arn_pattern(_resource_tokens(value, variables=variables), source=value)
        if not value.startswith("arn:") or pattern is None:
            raise PolicyError(path, not_an_arn)

        service = service_segment(value)
        if service is not None and ("*" in service or "?" in service):
            detail = "The service segment of an ARN cannot contain wildcards."
            raise PolicyError(path, not_an_arn, detail)

        patterns.append(pattern)

    return tuple(values), tuple(patterns)


def _resource_tokens(value: str, *, variables: bool) -> tuple[Token, ...]:
    """Tokens of a Resource ARN; variables count only in its resource part.

    AWS documents policy variables in "the part of the ARN that identifies the specific
    resource (the trailing part)"; in the partition, service, region and account segments
    ``${...}`` stays literal text, which no real ARN contains.
    """
    parts = value.split(":", 5)
    if not variables or len(parts) < 6:
        return (Text(value),)

    prefix = ":".join(parts[:5]) + ":"
    return (Text(prefix), *tokenize(parts[5], variables=True))


def _principal(
    raw: Mapping[str, Any], path: str, kind: PolicyKind, *, effect: str
) -> tuple[PrincipalSet | None, bool, list[str]]:
    has_principal = "Principal" in raw
    has_not_principal = "NotPrincipal" in raw
    if has_principal and has_not_principal:
        detail = "a statement has either Principal or NotPrincipal, not both."
        raise PolicyError(f"{path}.NotPrincipal", SYNTAX_ERROR, detail)

    element = "NotPrincipal" if has_not_principal else "Principal"
    if kind not in _PRINCIPAL_REQUIRED:
        if has_principal or has_not_principal:
            detail = f"{_KIND_LABELS[kind]} statements apply to their holder; remove {element}."
            raise PolicyError(f"{path}.{element}", PRINCIPAL_NOT_ALLOWED, detail)

        return None, False, []

    if not (has_principal or has_not_principal):
        detail = f"Statements of a {kind.value} policy must name a Principal."
        raise PolicyError(path, SYNTAX_ERROR, detail)

    if has_not_principal and kind in _NOT_PRINCIPAL_FORBIDDEN:
        detail = f"NotPrincipal is not supported in {kind.value} policies."
        raise PolicyError(f"{path}.NotPrincipal", SYNTAX_ERROR, detail)

    if has_not_principal and effect == ALLOW:
        detail = 'NotPrincipal is supported only with "Effect": "Deny".'
        raise PolicyError(f"{path}.NotPrincipal", SYNTAX_ERROR, detail)

    principals = parse_principal_element(raw[element], element=f"{path}.{element}")
    if kind is PolicyKind.RCP and not principals.is_wildcard:
        detail = 'Resource control policies accept only "*" as Principal.'
        raise PolicyError(f"{path}.Principal", SYNTAX_ERROR, detail)

    return principals, has_not_principal, list(principals.warnings)
