"""Offline policy simulation over the shared cases format (``fnurl simulate``).

One case per JSON line: ``{"id", "policies": {"identity", "resource", "boundary", "session",
"scps", "rcps"}, "request": {"principal_arn", "principal_account", "action", "resource",
"context"}, "resource_account"}`` (other keys, such as ``expected``, are ignored). Each case
gives one line back: ``{"id", "decision", "reasons"}``, or ``{"id", "error"}`` when the case or
one of its policies is malformed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from fnurl.iam.arn import Arn
from fnurl.iam.engine import AuthorizationRequest, Decision, PolicySet, ScpLevel, evaluate
from fnurl.iam.errors import PolicyError
from fnurl.iam.policy import Policy, PolicyKind, parse_policy
from fnurl.iam.principals import Principal

# An unsigned call to an AWS_IAM URL never reaches the policies: the gateway answers 403 first.
# The cases format marks such cases with the URL's auth type in the context.
UNSIGNED_AWS_IAM = (
    "unsigned request to an AWS_IAM function URL: refused (403) before any policy is evaluated"
)


class CaseError(ValueError):
    """A case that cannot be simulated; the message names the element at fault."""


def simulate_lines(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """One result per case line; blank lines and ``#`` comments are skipped."""
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue

        try:
            case = json.loads(text)
        except json.JSONDecodeError as error:
            yield {"id": None, "error": f"line {number}: not valid JSON: {error.msg}"}
            continue
        except RecursionError:
            yield {"id": None, "error": f"line {number}: JSON nested too deeply"}
            continue

        yield simulate_case(case)


def simulate_case(case: object) -> dict[str, Any]:
    """Decide one case: ``{"id", "decision", "reasons"}``, or ``{"id", "error"}``."""
    case_id = case.get("id") if isinstance(case, Mapping) else None
    try:
        request, policies = build_case(case)
    except (CaseError, PolicyError) as error:
        return {"id": case_id, "error": str(error)}

    if _unsigned_aws_iam_url_call(request):
        return {"id": case_id, "decision": "ImplicitDeny", "reasons": [UNSIGNED_AWS_IAM]}

    decision = evaluate(request, policies)
    return {"id": case_id, "decision": decision.outcome, "reasons": reasons(decision)}


def reasons(decision: Decision) -> list[str]:
    """The decision's reason, the layer that blocked it, then every statement that applied."""
    found = [decision.reason]
    if decision.blocked_by:
        found.append(f"blocked by: {decision.blocked_by}")

    return [*found, *decision.trace]


def build_case(case: object) -> tuple[AuthorizationRequest, PolicySet]:
    """The request and policies a case describes; raises CaseError or PolicyError."""
    if not isinstance(case, Mapping):
        raise CaseError("a case must be a JSON object")

    request = _mapping(case.get("request"), "request")
    policies = _mapping(case.get("policies", {}), "policies")
    action = _string(request.get("action"), "request.action")
    resource = _string(request.get("resource"), "request.resource")
    principal = _principal(request)
    resource_account = case.get("resource_account")
    if resource_account is None:
        arn = Arn.parse(resource)
        resource_account = arn.account if arn else ""

    policy_set = PolicySet(
        identity=[
            _policy(document, PolicyKind.IDENTITY, f"policies.identity[{index}]")
            for index, document in enumerate(_list(policies.get("identity"), "policies.identity"))
        ],
        resource=_optional(policies, "resource", PolicyKind.RESOURCE),
        boundary=_optional(policies, "boundary", PolicyKind.BOUNDARY),
        session=_optional(policies, "session", PolicyKind.SESSION),
        scps=_levels(policies.get("scps"), "scps", PolicyKind.SCP),
        rcps=_levels(policies.get("rcps"), "rcps", PolicyKind.RCP),
    )
    authorization = AuthorizationRequest(
        principal=principal,
        action=action,
        resource=resource,
        resource_account=_string(resource_account, "resource_account"),
        context=_context(request.get("context")),
    )
    return authorization, policy_set


def _unsigned_aws_iam_url_call(request: AuthorizationRequest) -> bool:
    auth_type = request.context.get("lambda:FunctionUrlAuthType")
    return (
        request.principal.is_anonymous
        and request.action.lower() == "lambda:invokefunctionurl"
        and auth_type == "AWS_IAM"
    )


def _principal(request: Mapping[str, Any]) -> Principal:
    arn = request.get("principal_arn")
    account = request.get("principal_account")
    if arn is not None and not isinstance(arn, str):
        raise CaseError("request.principal_arn: must be an ARN, a service name or null")

    if account is not None and not isinstance(account, str):
        raise CaseError("request.principal_account: must be an account id or null")

    try:
        return Principal.from_arn(arn, account)
    except ValueError as error:
        raise CaseError(f"request.principal_arn: {error}") from None


def _optional(policies: Mapping[str, Any], key: str, kind: PolicyKind) -> Policy | None:
    document = policies.get(key)
    return _policy(document, kind, f"policies.{key}") if document else None


def _policy(document: object, kind: PolicyKind, where: str) -> Policy:
    if not isinstance(document, Mapping | str):
        raise CaseError(f"{where}: a policy must be a JSON object")

    try:
        # Unnamed, so reasons use the engine's own labels ("identity policy #0").
        return parse_policy(document, kind)
    except PolicyError as error:
        raise CaseError(f"{where}: {error}") from None


def _levels(raw: object, key: str, kind: PolicyKind) -> list[ScpLevel]:
    levels = []
    for index, level in enumerate(_list(raw, f"policies.{key}")):
        where = f"policies.{key}[{index}]"
        attached = _mapping(level, where)
        target = attached.get("target", f"level {index}")
        documents = attached.get("policies")
        if not isinstance(documents, list):
            # A level with no policies would deny everything; far likelier a mistake.
            raise CaseError(f"{where}.policies: must be a list")
        parsed = [
            _policy(document, kind, f"{where}.policies[{position}]")
            for position, document in enumerate(documents)
        ]
        levels.append(ScpLevel(str(target), parsed))

    return levels


def _context(raw: object) -> dict[str, str | Sequence[str]]:
    context: dict[str, str | Sequence[str]] = {}
    for key, value in _mapping(raw if raw is not None else {}, "request.context").items():
        if isinstance(value, list):
            if not all(isinstance(item, str | bool | int | float) for item in value):
                raise CaseError(f"request.context.{key}: list values must be scalars")

            context[key] = [_scalar(item) for item in value]
        elif isinstance(value, str | bool | int | float):
            context[key] = _scalar(value)
        else:
            raise CaseError(f"request.context.{key}: must be a string or a list of strings")

    return context


def _scalar(value: str | bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"

    return str(value)


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CaseError(f"{where}: must be a JSON object")

    return value


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []

    if not isinstance(value, list):
        raise CaseError(f"{where}: must be a list")

    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise CaseError(f"{where}: must be a non-empty string")

    return value
