"""Who may call a function URL: the IAM requests one URL call turns into.

Since October 2025 a URL call needs `lambda:InvokeFunctionUrl` and `lambda:InvokeFunction`,
the second evaluated with `lambda:InvokedViaFunctionUrl=true`; an account with
`legacy_url_permissions` keeps the earlier model and needs only the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fnurl import iam
from fnurl.registry import Identity, LambdaFunction, Registry


@dataclass(frozen=True)
class UrlDecision:
    allowed: bool
    action: str          # the action whose evaluation decided the outcome
    decision: iam.Decision

    @property
    def reason(self) -> str:
        return f"{self.action}: {self.decision.outcome}: {self.decision.reason}"


def principal_context(identity: Identity, registry: Registry) -> dict[str, str]:
    account = registry.accounts.get(identity.account)
    context = {
        "aws:PrincipalArn": identity.principal_arn,
        "aws:PrincipalAccount": identity.account,
        "aws:PrincipalType": identity.principal.type,
        "aws:userid": identity.user_id,
        "aws:PrincipalIsAWSService": "false",
    }
    if identity.role_arn is None:
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
) -> dict[str, str]:
    context = {
        "aws:SourceIp": source_ip,
        "aws:SecureTransport": "true",
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
    assert function.url is not None
    now = now or datetime.now(UTC)
    context = request_context(
        function, source_ip=source_ip, user_agent=user_agent, referer=referer, now=now
    )

    if identity is None:
        principal = iam.Principal.from_arn(None)
        policies = iam.PolicySet(resource=function.resource_policy)
    else:
        principal = identity.principal
        context.update(principal_context(identity, registry))
        account = registry.accounts.get(identity.account)
        policies = iam.PolicySet(
            identity=identity.policies,
            resource=function.resource_policy,
            boundary=identity.boundary,
            session=identity.session_policy,
            scps=account.scps if account is not None else (),
        )

    url_context = {
        **context,
        "lambda:FunctionUrlAuthType": function.url.auth_type,
        "lambda:FunctionArn": function.arn,
    }
    first = iam.evaluate(
        iam.AuthorizationRequest(
            principal=principal,
            action="lambda:InvokeFunctionUrl",
            resource=function.arn,
            resource_account=function.account,
            context=url_context,
        ),
        policies,
    )
    if not first.allowed:
        return UrlDecision(False, "lambda:InvokeFunctionUrl", first)

    owner = registry.accounts.get(function.account)
    if owner is not None and owner.legacy_url_permissions:
        return UrlDecision(True, "lambda:InvokeFunctionUrl", first)

    second = iam.evaluate(
        iam.AuthorizationRequest(
            principal=principal,
            action="lambda:InvokeFunction",
            resource=function.arn,
            resource_account=function.account,
            context={**context, "lambda:InvokedViaFunctionUrl": "true"},
        ),
        policies,
    )
    return UrlDecision(second.allowed, "lambda:InvokeFunction", second)
