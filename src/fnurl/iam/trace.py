"""Why a statement did or did not apply: the detail behind an explained decision.

The engine decides with ``Statement.applies``, which stops at the first part that fails. When a
decision is explained, every scanned statement is looked at once more, part by part, so the
trace can say all that kept it from applying: the action, the principal, the resource, and each
condition with the request's value next to the policy's.
"""

from __future__ import annotations

from dataclasses import dataclass

from fnurl.iam.conditions import Condition
from fnurl.iam.context import RequestContext
from fnurl.iam.policy import Statement
from fnurl.iam.principals import Principal, PrincipalMatch

# Layers of the evaluation, as the trace names them; PolicyKind values where one exists.
IDENTITY = "identity"
RESOURCE = "resource"
BOUNDARY = "boundary"
SESSION = "session"
SCP = "scp"
RCP = "rcp"


@dataclass(frozen=True)
class StatementReport:
    """One statement of a scanned policy: did it apply, and if not, every reason why not."""

    ref: str
    effect: str
    match: PrincipalMatch | None
    problems: tuple[str, ...]
    action_matched: bool = True

    @property
    def applies(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class PolicyReport:
    """A policy the engine scanned, the layer it belongs to, and its statements."""

    label: str
    layer: str
    level: str | None
    statements: tuple[StatementReport, ...]


def report_statement(
    statement: Statement,
    principal: Principal,
    action: str,
    resource: str,
    context: RequestContext,
    *,
    has_boundary: bool,
) -> StatementReport:
    """Check each part of ``statement`` against the request; list every part that fails."""
    problems: list[str] = []
    action_matched = statement.matches_action(action)
    if not action_matched:
        problems.append(_action_problem(statement, action))

    found = statement.matches_principal(principal, has_boundary=has_boundary)
    if found is None:
        problems.append(_principal_problem(statement, principal))

    if not statement.matches_resource(resource, context):
        element = "NotResource" if statement.not_resource else "Resource"
        listed = _listing(statement.resources or ())
        verb = "lists" if statement.not_resource else "does not match"
        problems.append(f"{element} {listed} {verb} {resource}")

    problems.extend(
        describe_condition(condition, context)
        for condition in statement.conditions
        if not condition.holds(context)
    )
    return StatementReport(
        statement.ref, statement.effect, found, tuple(problems), action_matched
    )


def describe_condition(condition: Condition, context: RequestContext) -> str:
    """A failed condition, with what the request carried and what the policy asked for."""
    value = context.get(condition.key)
    if value is None:
        carried = f"the request has no {condition.key}"
    elif isinstance(value, str):
        carried = f"the request has {value!r}"
    else:
        carried = f"the request has {list(value)!r}"

    wanted = " or ".join(repr(item) for item in condition.values)
    if condition.negated and len(condition.values) > 1:
        wanted = "none of " + ", ".join(repr(item) for item in condition.values)

    return f"Condition {condition.operator} {condition.key} {wanted} is false: {carried}"


def _action_problem(statement: Statement, action: str) -> str:
    if statement.not_action:
        return f"NotAction {_listing(statement.actions)} lists {action}"

    return f"Action {_listing(statement.actions)} does not match {action}"


def _principal_problem(statement: Statement, principal: Principal) -> str:
    caller = principal.arn or "an anonymous caller"
    listed = statement.principals
    values = _listing(tuple(entry.value for entry in listed.entries)) if listed else "[]"
    if statement.not_principal:
        return f"NotPrincipal {values} lists {caller}, so the statement excludes it"

    if principal.is_anonymous:
        return f'Principal {values} does not match an anonymous caller (only "*" does)'

    return f"Principal {values} does not match {caller}"


def _listing(values: tuple[str, ...]) -> str:
    if len(values) == 1:
        return values[0]

    return "[" + ", ".join(values) + "]"
