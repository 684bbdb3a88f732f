"""IAM policy evaluation for fnurl: parse policies once, then decide requests as AWS does.

Knows nothing about HTTP. The gateway builds an ``AuthorizationRequest`` (caller, action,
resource ARN, condition keys) and a ``PolicySet`` and calls ``evaluate``::

    policy = parse_policy(document, PolicyKind.RESOURCE, name="hello")
    decision = evaluate(request, PolicySet(resource=policy))
    if not decision.allowed:
        log.info("denied: %s", decision.reason)
"""

from fnurl.iam.context import RequestContext
from fnurl.iam.engine import (
    RCP_SUPPORTED_SERVICES,
    AuthorizationRequest,
    Decision,
    PolicySet,
    ScpLevel,
    evaluate,
)
from fnurl.iam.errors import PolicyError
from fnurl.iam.policy import Policy, PolicyKind, Statement, check_size, parse_policy
from fnurl.iam.principals import Principal, PrincipalMatch
from fnurl.iam.trace import PolicyReport, StatementReport

__all__ = [
    "RCP_SUPPORTED_SERVICES",
    "AuthorizationRequest",
    "Decision",
    "Policy",
    "PolicyError",
    "PolicyKind",
    "PolicyReport",
    "PolicySet",
    "Principal",
    "PrincipalMatch",
    "RequestContext",
    "ScpLevel",
    "Statement",
    "StatementReport",
    "check_size",
    "evaluate",
    "parse_policy",
]
