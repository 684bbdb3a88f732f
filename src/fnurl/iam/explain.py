"""A decision, told for a person: the outcome, the layer that blocked, and each statement.

``explain_lines`` turns an explained ``Decision`` (``evaluate(..., explain=True)``) into short
lines that fit a terminal: statements that only name other actions are counted, not listed,
so a large policy still reads in one screen.
"""

from __future__ import annotations

from fnurl.iam.engine import AuthorizationRequest, Decision
from fnurl.iam.principals import PrincipalMatch
from fnurl.iam.trace import PolicyReport, StatementReport

LAYER_NAMES = {
    "identity": "identity-based policies",
    "resource": "the resource-based policy",
    "boundary": "the permissions boundary",
    "session": "the session policy",
    "scp": "service control policies",
    "rcp": "resource control policies",
}


def explain_lines(
    request: AuthorizationRequest,
    decision: Decision,
    *,
    verbose: bool = False,
    policies: bool = True,
) -> list[str]:
    """The outcome, why, and (with ``policies``) every scanned policy, statement by statement.

    ``verbose`` also lists the request's context and the statements for other actions.
    """
    lines = [f"{request.action}: {decision.outcome}", f"  because:    {decision.reason}"]
    if decision.blocked_by:
        lines.append(f"  blocked by: {LAYER_NAMES.get(decision.blocked_by, decision.blocked_by)}")

    if verbose:
        lines.append("  context:")
        lines += [f"    {key} = {value}" for key, value in sorted(request.context.items())]

    if not policies:
        return lines

    lines.append("  policies:")
    principal = request.principal
    has_identity_side = not (principal.is_anonymous or principal.is_service)
    if has_identity_side and not any(r.layer == "identity" for r in decision.details):
        lines.append("    identity-based policies: none")

    for report in decision.details:
        lines += _policy_lines(report, verbose=verbose)

    if not decision.details:
        lines.append("    none")

    return lines


def _policy_lines(report: PolicyReport, *, verbose: bool) -> list[str]:
    where = f" (level {report.level})" if report.level else ""
    lines = [f"    {report.label}{where}"]
    other_actions = 0
    for statement in report.statements:
        if not verbose and not statement.action_matched:
            other_actions += 1
            continue

        lines += _statement_lines(statement)

    if other_actions:
        noun = "statement" if other_actions == 1 else "statements"
        lines.append(f"      ({other_actions} {noun} for other actions)")

    return lines


def _statement_lines(statement: StatementReport) -> list[str]:
    head = f"      {statement.effect} {statement.ref}"
    if statement.applies:
        how = ""
        if statement.match not in (None, PrincipalMatch.NO_PRINCIPAL_ELEMENT):
            assert statement.match is not None
            how = f" (Principal: {statement.match.value})"

        return [f"{head}: applies{how}"]

    return [f"{head}: does not apply", *(f"        - {problem}" for problem in statement.problems)]
