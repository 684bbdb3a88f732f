"""Who may call a function URL: the IAM requests one URL call turns into.

Since October 2025 a URL call needs `lambda:InvokeFunctionUrl` and `lambda:InvokeFunction`,
the second evaluated with `lambda:InvokedViaFunctionUrl=true`; an account with
`legacy_url_permissions` keeps the earlier model and needs only the first.

The gateway authorizes with `authorize_url_call`; `fnurl explain` builds the very same
requests with `url_call` and evaluates them with a statement-by-statement trace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from fnurl import iam
from fnurl.iam.explain import explain_lines
from fnurl.registry import Identity, LambdaFunction, Registry

INVOKE_URL = "lambda:InvokeFunctionUrl"
INVOKE = "lambda:InvokeFunction"

Context = dict[str, str | Sequence[str]]


@dataclass(frozen=True)
class UrlDecision:
    allowed: bool
    action: str          # the action whose evaluation decided the outcome
    decision: iam.Decision

    @property
    def reason(self) -> str:
        """The short reason the `fnurl.auth` log line carries, with the layer that blocked."""
        decision = self.decision
        layer = f" (blocked by {decision.blocked_by})" if decision.blocked_by else ""
        return f"{self.action}: {decision.outcome}{layer}: {decision.reason}"


@dataclass(frozen=True)
class UrlCall:
    """The policies that bear on one URL call, and the checks it must pass, in order."""

    policies: iam.PolicySet
    checks: tuple[iam.AuthorizationRequest, ...]


def principal_context(identity: Identity, registry: Registry) -> dict[str, str]:
    account = registry.accounts.get(identity.account)
    context = {
        "aws:PrincipalArn": identity.principal_arn,
        "aws:PrincipalAccount": identity.account,
        "aws:PrincipalType": identity.principal.type,
        "aws:userid": identity.user_id,
        "aws:PrincipalIsAWSService": "false",
    }
    # Only IAM users have aws:username; roles and the root user do not.
    if identity.role_arn is None and not identity.principal.is_root:
        context["aws:username"] = identity.name
    if account is not None and account.org_id is not None:
        context["aws:PrincipalOrgID"] = account.org_id
    for key, value in identity.tags.items():
        context[f"aws:PrincipalTag/{key}"] = value
    return context


def request_context(
    function: LambdaFunction,
    *,
    source_ip: str,
    user_agent: str | None,
    referer: str | None,
    now: datetime,
    secure_transport: bool = True,
) -> dict[str, str]:
    context = {
        "aws:SourceIp": source_ip,
        "aws:SecureTransport": "true" if secure_transport else "false",
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
        "aws:RequestedRegion": function.region,
        "aws:ResourceAccount": function.account,
        "aws:ViaAWSService": "false",
    }
    if user_agent is not None:
        context["aws:UserAgent"] = user_agent
    if referer is not None:
        context["aws:Referer"] = referer
    for key, value in function.tags.items():
        context[f"aws:ResourceTag/{key}"] = value
    return context


def organization_context(
    registry: Registry, function: LambdaFunction, identity: Identity | None
) -> Context:
    """The organization keys of both sides; the paths are multivalued keys, hence lists."""
    context: Context = {}
    owner = registry.accounts.get(function.account)
    if owner is not None and owner.org_id is not None:
        context["aws:ResourceOrgID"] = owner.org_id
    if owner is not None and owner.org_path is not None:
        context["aws:ResourceOrgPaths"] = [owner.org_path]

    caller = registry.accounts.get(identity.account) if identity is not None else None
    if caller is not None and caller.org_path is not None:
        context["aws:PrincipalOrgPaths"] = [caller.org_path]
    return context


def call_context(
    registry: Registry,
    function: LambdaFunction,
    identity: Identity | None,
    *,
    source_ip: str,
    user_agent: str | None = None,
    referer: str | None = None,
    now: datetime | None = None,
) -> Context:
    """Every condition key fnurl fills for a call by `identity` (None: anonymous)."""
    context: Context = {}
    context.update(
        request_context(
            function,
            source_ip=source_ip,
            user_agent=user_agent,
            referer=referer,
            now=now or datetime.now(UTC),
            secure_transport=registry.secure_transport,
        )
    )
    if identity is not None:
        context.update(principal_context(identity, registry))
    context.update(organization_context(registry, function, identity))
    return context


def policy_set(
    registry: Registry, function: LambdaFunction, identity: Identity | None
) -> iam.PolicySet:
    if identity is None:
        return iam.PolicySet(resource=function.resource_policy)

    account = registry.accounts.get(identity.account)
    return iam.PolicySet(
        identity=identity.policies,
        resource=function.resource_policy,
        boundary=identity.boundary,
        session=identity.session_policy,
        scps=account.scps if account is not None else (),
    )


def url_call(
    registry: Registry,
    function: LambdaFunction,
    identity: Identity | None,
    *,
    source_ip: str,
    user_agent: str | None = None,
    referer: str | None = None,
    now: datetime | None = None,
) -> UrlCall:
    """The IAM requests a call to the function's URL must pass, as the gateway makes them."""
    assert function.url is not None
    context = call_context(
        registry,
        function,
        identity,
        source_ip=source_ip,
        user_agent=user_agent,
        referer=referer,
        now=now,
    )
    principal = identity.principal if identity is not None else iam.Principal.anonymous()

    def check(action: str, keys: Mapping[str, str]) -> iam.AuthorizationRequest:
        return iam.AuthorizationRequest(
            principal=principal,
            action=action,
            resource=function.arn,
            resource_account=function.account,
            context={**context, **keys},
        )

    checks = [
        check(
            INVOKE_URL,
            {"lambda:FunctionUrlAuthType": function.url.auth_type,
             "lambda:FunctionArn": function.arn},
        )
    ]
    owner = registry.accounts.get(function.account)
    if owner is None or not owner.legacy_url_permissions:
        checks.append(check(INVOKE, {"lambda:InvokedViaFunctionUrl": "true"}))

    return UrlCall(policy_set(registry, function, identity), tuple(checks))


def authorize_url_call(
    registry: Registry,
    function: LambdaFunction,
    identity: Identity | None,
    *,
    source_ip: str,
    user_agent: str | None = None,
    referer: str | None = None,
    now: datetime | None = None,
) -> UrlDecision:
    call = url_call(
        registry,
        function,
        identity,
        source_ip=source_ip,
        user_agent=user_agent,
        referer=referer,
        now=now,
    )
    key, pinned = _cache_key(call)
    cached = _decisions.get(key)
    if cached is not None and all(a is b for a, b in zip(cached[0], pinned, strict=True)):
        return cached[1]

    result = _decide(call)
    if len(_decisions) >= DECISION_CACHE_SIZE:
        _decisions.clear()
    _decisions[key] = (pinned, result)
    return result


# Decisions of recent URL calls. `iam.evaluate` is a pure function of the requests and the
# policies, so a call whose requests (principal, action, resource and every condition key,
# aws:CurrentTime included, so an entry serves one second at most) and policy objects are
# the same gets the same decision. Policies are immutable: an edit (project reload, the
# permission API) makes new objects, so it can never hit an entry made before it.
DECISION_CACHE_SIZE = 4096
_decisions: dict[tuple[object, ...], tuple[tuple[object, ...], UrlDecision]] = {}


def _cache_key(call: UrlCall) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """The key for a call's decision, and the policy objects it stands for.

    Policies are keyed by id(); the entry keeps the objects themselves (`pinned`) and a hit
    compares them by identity, so an id reused by a new object cannot match.
    """
    policies = call.policies
    pinned: tuple[object, ...] = (
        *policies.identity, policies.resource, policies.boundary, policies.session,
        *(p for level in policies.scps for p in level.policies),
        *(p for level in policies.rcps for p in level.policies),
    )
    levels = tuple(
        (level.target, len(level.policies)) for level in (*policies.scps, *policies.rcps)
    )
    checks = tuple(
        (check.principal, check.action, check.resource, check.resource_account,
         tuple((name, value if isinstance(value, str) else tuple(value))
               for name, value in check.context.items()))
        for check in call.checks
    )
    key = (len(policies.identity), len(policies.scps), levels, tuple(map(id, pinned)), checks)
    return key, pinned


def _decide(call: UrlCall) -> UrlDecision:
    decision = None
    for request in call.checks:
        decision = iam.evaluate(request, call.policies)
        if not decision.allowed:
            return UrlDecision(False, request.action, decision)

    assert decision is not None
    return UrlDecision(True, call.checks[-1].action, decision)


def explain_call(
    registry: Registry,
    function: LambdaFunction,
    identity: Identity | None,
    *,
    action: str | None = None,
    context: Mapping[str, str | Sequence[str]] | None = None,
    source_ip: str = "127.0.0.1",
    verbose: bool = False,
) -> tuple[bool, list[str]]:
    """Whether the call is allowed, and lines that say why.

    Without ``action`` this is a call to the function's URL as the gateway authorizes it:
    the check that failed is told statement by statement, the others in one line each
    (``verbose``: all of them in full). With ``action``, one request for that action on the
    function. ``context`` adds or replaces condition keys.
    """
    overrides = dict(context or {})
    caller = _caller_line(identity)
    if action is not None:
        request = iam.AuthorizationRequest(
            principal=identity.principal if identity is not None else iam.Principal.anonymous(),
            action=action,
            resource=function.arn,
            resource_account=function.account,
            context={**call_context(registry, function, identity, source_ip=source_ip),
                     **overrides},
        )
        decision = iam.evaluate(request, policy_set(registry, function, identity), explain=True)
        head = [f"{action} on function {function.name} ({function.arn})", f"Caller: {caller}", ""]
        return decision.allowed, head + explain_lines(request, decision, verbose=verbose)

    if function.url is None:
        raise ValueError(f"function {function.name} has no URL; give --action to explain "
                         "another request")

    name = f"{function.name}:{function.qualifier}" if function.qualifier else function.name
    head = [f"{function.url.auth_type} URL of function {name} ({function.arn})"]
    if function.url.auth_type == "AWS_IAM" and identity is None:
        head.append("403 Forbidden: an AWS_IAM URL refuses unsigned requests before any "
                    "policy is evaluated; sign with the keys of a principal that is allowed.")
        return False, head

    if function.url.auth_type == "NONE" and identity is not None:
        head.append(f"A NONE URL does not authenticate: {identity.principal_arn} is ignored "
                    "and the call is evaluated as anonymous.")
        identity = None
        caller = _caller_line(identity)

    call = url_call(registry, function, identity, source_ip=source_ip)
    checks = [replace(check, context={**check.context, **overrides}) for check in call.checks]
    decisions = [iam.evaluate(check, call.policies, explain=True) for check in checks]
    failed = next((index for index, d in enumerate(decisions) if not d.allowed), None)
    needs = f"{INVOKE_URL} and {INVOKE} (the October 2025 model)"
    if len(checks) == 1:
        needs = f"{INVOKE_URL} only (legacy_url_permissions account)"

    head += [f"Caller: {caller}", f"A call needs {needs}."]
    if failed is None:
        head.append("Allowed: the URL answers with the function's reply.")
    else:
        head.append(f"403 Forbidden: {checks[failed].action} is {decisions[failed].outcome}.")
        if failed == 1 and decisions[failed].outcome == "ImplicitDeny":
            # The likeliest cause since October 2025: a policy written for the earlier model.
            head.append(f"Hint: grant {INVOKE} too, with Condition Bool "
                        "lambda:InvokedViaFunctionUrl=true (public_access: true adds it for "
                        "NONE URLs).")

    lines = head
    for index, (check, decision) in enumerate(zip(checks, decisions, strict=True)):
        lines.append("")
        if failed is not None and index > failed:
            lines.append(f"{check.action}: not evaluated after the denial above; alone it "
                         f"would be {decision.outcome} ({decision.reason})")
            continue

        full = verbose or index == failed
        lines += explain_lines(check, decision, verbose=verbose, policies=full)

    return failed is None, lines


def _caller_line(identity: Identity | None) -> str:
    if identity is None:
        return "anonymous (unsigned request)"

    principal = identity.principal
    if identity.role_arn is not None:
        return f"{principal.arn} (session of role {identity.role_arn})"

    return f"{principal.arn} ({principal.type})"
