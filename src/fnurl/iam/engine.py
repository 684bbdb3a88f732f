"""The decision procedure: which policies apply to a request, and what they add up to.

Order, as AWS documents it: an explicit Deny anywhere wins; then resource control policies and
service control policies must each allow at every level of the organization path; then the
core grant, which differs for anonymous callers, service principals, callers in the resource's
own account and callers from other accounts (see ``evaluate``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from fnurl.iam.context import RequestContext
from fnurl.iam.policy import ALLOW, Policy, Statement
from fnurl.iam.principals import FEDERATED_USER, Principal, PrincipalMatch
from fnurl.iam.trace import (
    BOUNDARY,
    IDENTITY,
    RCP,
    RESOURCE,
    SCP,
    SESSION,
    PolicyReport,
    report_statement,
)

Outcome = Literal["Allow", "ImplicitDeny", "ExplicitDeny"]

# Services whose resources resource control policies (RCPs) apply to, from the list AWS
# publishes (iam-data 2026 snapshot, the services the spec names). Lambda is not on it, so
# RCPs are skipped for lambda: actions; add a prefix here the day AWS adds the service.
RCP_SUPPORTED_SERVICES = frozenset(
    {
        "s3",
        "sts",
        "kms",
        "sqs",
        "secretsmanager",
        "dynamodb",
        "ecr",
        "logs",
        "cognito-idp",
    }
)

# Same-account resource-policy grants and the implicit denies they override (AWS table
# "resource-based policies" and the permissions-boundary page): naming the caller directly or
# "*" overrides them all; naming the role (for a session) or the user (for its federated
# session) folds the grant into the identity side, so the boundary and session policy still
# cap it; an account is a delegation and overrides nothing.
_OVERRIDES_BOUNDARY = frozenset(
    {PrincipalMatch.WILDCARD, PrincipalMatch.SESSION, PrincipalMatch.USER}
)
_OVERRIDES_SESSION = frozenset({PrincipalMatch.WILDCARD, PrincipalMatch.SESSION})
_RESOURCE_GRANTS = frozenset(
    {
        PrincipalMatch.WILDCARD,
        PrincipalMatch.ACCOUNT,
        PrincipalMatch.USER,
        PrincipalMatch.SOURCE_USER,
        PrincipalMatch.ROLE,
        PrincipalMatch.SESSION,
    }
)


@dataclass(frozen=True)
class ScpLevel:
    """One level of an organization path (root, an OU, the account) and its policies."""

    target: str
    policies: Sequence[Policy]


@dataclass
class PolicySet:
    """Every policy that may bear on one request.

    ``scps`` are the levels of the caller's account path, root first; ``rcps`` those of the
    resource's account path. Empty means the account is not governed by that policy type.
    """

    identity: Sequence[Policy] = ()
    resource: Policy | None = None
    boundary: Policy | None = None
    session: Policy | None = None
    scps: Sequence[ScpLevel] = ()
    rcps: Sequence[ScpLevel] = ()


@dataclass(frozen=True)
class AuthorizationRequest:
    """Who wants to do what to which resource, with the request's condition keys."""

    principal: Principal
    action: str
    resource: str
    resource_account: str
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The outcome, one human line saying why, and the statements that applied.

    ``blocked_by`` names the layer that denied or lacked the Allow (``identity``,
    ``resource``, ``boundary``, ``session``, ``scp``, ``rcp``); None for an Allow. ``details``
    holds every scanned policy, statement by statement, when the evaluation was explained.
    """

    outcome: Outcome
    reason: str
    trace: tuple[str, ...] = ()
    blocked_by: str | None = None
    details: tuple[PolicyReport, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.outcome == "Allow"


@dataclass(frozen=True)
class _Hit:
    """A statement that applies to the request, and the policy it belongs to."""

    label: str
    statement: Statement
    match: PrincipalMatch

    @property
    def ref(self) -> str:
        return f"{self.label}, {self.statement.ref}"


@dataclass
class _Scan:
    """What one policy says about the request."""

    label: str
    layer: str
    denies: list[_Hit]
    allows: list[_Hit]


class _Evaluation:
    """State of one evaluation: the request, its context, and the trace being collected."""

    def __init__(
        self, request: AuthorizationRequest, policies: PolicySet, *, explain: bool
    ) -> None:
        self.request = request
        self.policies = policies
        self.principal = request.principal
        self.action = request.action
        self.context = RequestContext(request.context)
        self.has_boundary = policies.boundary is not None
        self.trace: list[str] = []
        # Only an explained evaluation pays for the statement-by-statement report.
        self.reports: list[PolicyReport] | None = [] if explain else None

    def scan(
        self, policy: Policy, layer: str, label: str | None = None, level: str | None = None
    ) -> _Scan:
        label = label or policy.label
        result = _Scan(label, layer, [], [])
        for statement in policy.statements:
            found = statement.applies(
                self.principal,
                self.action,
                self.request.resource,
                self.context,
                has_boundary=self.has_boundary,
            )
            if found is None:
                continue

            hit = _Hit(label, statement, found)
            (result.allows if statement.effect == ALLOW else result.denies).append(hit)
            self.trace.append(f"{statement.effect}: {hit.ref}")

        if self.reports is not None:
            self.reports.append(self._report(policy, label, layer, level))

        return result

    def _report(self, policy: Policy, label: str, layer: str, level: str | None) -> PolicyReport:
        statements = tuple(
            report_statement(
                statement,
                self.principal,
                self.action,
                self.request.resource,
                self.context,
                has_boundary=self.has_boundary,
            )
            for statement in policy.statements
        )
        return PolicyReport(label, layer, level, statements)

    def decide(self, outcome: Outcome, reason: str, blocked_by: str | None = None) -> Decision:
        details = tuple(self.reports or ())
        return Decision(outcome, reason, tuple(self.trace), blocked_by, details)


def evaluate(
    request: AuthorizationRequest,
    policies: PolicySet,
    *,
    rcp_services: Collection[str] = RCP_SUPPORTED_SERVICES,
    explain: bool = False,
) -> Decision:
    """Decide one request the way AWS does; ``explain`` adds a report of every statement.

    1. Any applicable Deny in a policy that bears on the request -> ExplicitDeny.
    2. RCPs (resource side, supported services only) and SCPs (caller side, member accounts):
       every level needs an applicable Allow, else ImplicitDeny; nothing bypasses them.
    3. Core grant: anonymous callers need a ``"*"`` grant in the resource policy, service
       principals a grant to the service; in the resource's own account the identity side
       (identity ∩ boundary ∩ session policy) or a resource-policy grant suffices, within the
       limits of what that grant can override; across accounts both sides must allow. The
       root user's identity side always allows.
    """
    run = _Evaluation(request, policies, explain=explain)
    principal = request.principal
    caller_policies = not (principal.is_anonymous or principal.is_service)

    # Identity-side policies do not exist for anonymous callers and service principals.
    identity = [
        run.scan(policy, IDENTITY, _identity_label(policy, index))
        for index, policy in enumerate(policies.identity if caller_policies else ())
    ]
    resource = run.scan(policies.resource, RESOURCE) if policies.resource else None
    boundary = None
    if policies.boundary and caller_policies:
        boundary = run.scan(policies.boundary, BOUNDARY)

    session = None
    if policies.session and caller_policies:
        session = run.scan(policies.session, SESSION)

    scps = _scan_levels(run, policies.scps, SCP) if caller_policies else []
    service = request.action.partition(":")[0].lower()
    rcps = []
    if service in rcp_services:
        rcps = _scan_levels(run, policies.rcps, RCP)

    for scan in _all_scans(identity, resource, boundary, session, scps, rcps):
        if scan.denies:
            reason = _explicit_deny_reason(run, scan.denies[0])
            return run.decide("ExplicitDeny", reason, scan.layer)

    # AWS attaches RCPFullAWSAccess to every level and it cannot be detached, so the RCP gate
    # always finds its Allow: RCPs act through their Deny statements alone.
    for target, level in scps:
        if not any(scan.allows for scan in level):
            reason = f"no service control policy allows {request.action} at level {target}"
            return run.decide("ImplicitDeny", reason, SCP)

    if principal.is_anonymous:
        return _anonymous(run, resource)

    if principal.is_service:
        return _service(run, resource)

    return _caller(run, identity, resource, boundary, session)


def _identity_label(policy: Policy, index: int) -> str | None:
    return None if policy.name else f"identity policy #{index}"


def _scan_levels(
    run: _Evaluation, levels: Sequence[ScpLevel], layer: str
) -> list[tuple[str, list[_Scan]]]:
    kind = "service control policy" if layer == SCP else "resource control policy"
    return [
        (
            level.target,
            [
                run.scan(
                    policy,
                    layer,
                    None if policy.name else f"{kind} #{index} at {level.target}",
                    level.target,
                )
                for index, policy in enumerate(level.policies)
            ],
        )
        for level in levels
    ]


def _all_scans(
    identity: list[_Scan],
    resource: _Scan | None,
    boundary: _Scan | None,
    session: _Scan | None,
    scps: list[tuple[str, list[_Scan]]],
    rcps: list[tuple[str, list[_Scan]]],
) -> Iterator[_Scan]:
    """Every scan, in the order AWS lists policy types, so the first Deny names the same one."""
    yield from identity
    for scan in (resource, boundary, session):
        if scan is not None:
            yield scan

    for _, level in (*scps, *rcps):
        yield from level


def _explicit_deny_reason(run: _Evaluation, hit: _Hit) -> str:
    reason = f"explicit Deny: {hit.ref}"
    listed = hit.statement.principals
    if hit.match is PrincipalMatch.NOT_PRINCIPAL and listed and listed.match(run.principal):
        # The caller is on the NotPrincipal list, so only the boundary rule can have denied it.
        reason += " (NotPrincipal with Deny always denies a caller with a permissions boundary)"

    return reason


def _anonymous(run: _Evaluation, resource: _Scan | None) -> Decision:
    action = run.action
    grant = _first(resource, {PrincipalMatch.WILDCARD})
    if grant is not None:
        return run.decide("Allow", f'allowed: {grant.ref} grants {action} to anyone ("*")')

    if resource is None:
        return run.decide(
            "ImplicitDeny",
            f"anonymous caller and no resource-based policy: nothing grants {action}",
            RESOURCE,
        )

    return run.decide(
        "ImplicitDeny",
        f'{resource.label} does not grant {action} to anonymous callers (only "*" can)',
        RESOURCE,
    )


def _service(run: _Evaluation, resource: _Scan | None) -> Decision:
    action = run.action
    name = run.principal.arn
    grant = _first(resource, {PrincipalMatch.SERVICE, PrincipalMatch.WILDCARD})
    if grant is not None:
        return run.decide("Allow", f"allowed: {grant.ref} grants {action} to {name}")

    where = resource.label if resource else "no resource-based policy"
    reason = f"{where} does not grant {action} to service {name}"
    return run.decide("ImplicitDeny", reason, RESOURCE)


def _caller(
    run: _Evaluation,
    identity: list[_Scan],
    resource: _Scan | None,
    boundary: _Scan | None,
    session: _Scan | None,
) -> Decision:
    """Callers with credentials: IAM users, role and federated sessions, root users."""
    principal = run.principal
    action = run.action
    identity_allow = next((scan.allows[0] for scan in identity if scan.allows), None)
    boundary_ok = boundary is None or bool(boundary.allows)
    session_ok = bool(session.allows) if session else principal.type != FEDERATED_USER
    caller_ok = principal.is_root or (identity_allow is not None and boundary_ok and session_ok)
    grants = [hit for hit in (resource.allows if resource else []) if hit.match in _RESOURCE_GRANTS]
    grants.sort(key=lambda hit: _grant_rank(hit.match))

    if principal.account == run.request.resource_account:
        if caller_ok:
            return run.decide("Allow", _caller_allow_reason(run, identity_allow))

        for grant in grants:
            if _overrides(grant.match, boundary_ok=boundary_ok, session_ok=session_ok):
                reason = f"allowed: {grant.ref} grants {action} to {grant.match.value}"
                return run.decide("Allow", reason)

        layer, gap = _caller_gap(run, identity_allow, boundary, session)
        return run.decide("ImplicitDeny", _same_account_reason(gap, resource, grants), layer)

    if caller_ok and grants:
        caller_side = _caller_allow_reason(run, identity_allow).removeprefix("allowed: ")
        reason = f"allowed cross-account: {caller_side}, and {grants[0].ref} grants it"
        return run.decide("Allow", reason)

    problems = []
    blocked_by = RESOURCE
    if not caller_ok:
        blocked_by, gap = _caller_gap(run, identity_allow, boundary, session)
        problems.append(gap)

    if not grants and resource is None:
        problems.append(f"there is no resource-based policy to grant {action} to the caller")
    elif not grants and resource is not None:
        problems.append(f"{resource.label} does not grant {action} to {principal.arn}")

    return run.decide("ImplicitDeny", "cross-account: " + "; ".join(problems), blocked_by)


def _overrides(match: PrincipalMatch, *, boundary_ok: bool, session_ok: bool) -> bool:
    if match is PrincipalMatch.ACCOUNT:
        return False

    boundary_passes = boundary_ok or match in _OVERRIDES_BOUNDARY
    session_passes = session_ok or match in _OVERRIDES_SESSION
    return boundary_passes and session_passes


def _grant_rank(match: PrincipalMatch) -> int:
    order = (
        PrincipalMatch.SESSION,
        PrincipalMatch.WILDCARD,
        PrincipalMatch.USER,
        PrincipalMatch.ROLE,
        PrincipalMatch.SOURCE_USER,
        PrincipalMatch.ACCOUNT,
    )
    return order.index(match)


def _caller_allow_reason(run: _Evaluation, identity_allow: _Hit | None) -> str:
    principal = run.principal
    if principal.is_root or identity_allow is None:
        return f"allowed: the root user of {principal.account} has full access in its account"

    return f"allowed: {identity_allow.ref} allows {run.action}"


def _caller_gap(
    run: _Evaluation,
    identity_allow: _Hit | None,
    boundary: _Scan | None,
    session: _Scan | None,
) -> tuple[str, str]:
    """Which identity-side layer lacks an Allow (the first, in evaluation order), and why."""
    action = run.action
    if identity_allow is None:
        return IDENTITY, f"no identity-based policy allows {action}"

    if boundary is not None and not boundary.allows:
        return BOUNDARY, f"{boundary.label} does not allow {action}"

    if session is not None and not session.allows:
        return SESSION, f"{session.label} does not allow {action}"

    return SESSION, (
        "a federated-user session without a session policy has no identity-based permissions"
    )


def _same_account_reason(gap: str, resource: _Scan | None, grants: list[_Hit]) -> str:
    if resource is None:
        return f"{gap} and there is no resource-based policy"

    if not grants:
        return f"{gap} and the resource policy does not grant it"

    grant = grants[0]
    if grant.match is PrincipalMatch.ACCOUNT:
        return f"{gap}; {grant.ref} names only the account, which delegates to its IAM policies"

    return f"{gap}; {grant.ref} grants it to {grant.match.value}, which does not override that"


def _first(scan: _Scan | None, matches: Collection[PrincipalMatch]) -> _Hit | None:
    if scan is None:
        return None

    return next((hit for hit in scan.allows if hit.match in matches), None)
