"""Who is calling the control plane, and may they? SigV4 then the IAM engine."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from fnurl import iam, sigv4
from fnurl.control.errors import LambdaError
from fnurl.gateway.authorize import Context, call_context, policy_set, principal_context
from fnurl.registry import Identity, LambdaFunction, Registry

auth_log = logging.getLogger("fnurl.auth")


@dataclass(frozen=True)
class Caller:
    identity: Identity
    region: str
    service: str
    access_key_id: str = ""


# AWS's request limits: 6 MB for API calls, CreateFunction's 50 MB zip as base64 JSON.
MAX_BODY_BYTES = 6 * 1024 * 1024
MAX_CREATE_FUNCTION_BYTES = 70_167_211


async def read_body(request: Request) -> bytes:
    """The body, refused with 413 before it grows past the operation's limit."""
    limit = MAX_BODY_BYTES
    if request.method == "POST" and request.url.path.rstrip("/") == "/2015-03-31/functions":
        limit = MAX_CREATE_FUNCTION_BYTES
    action = getattr(request.state, "action", None)
    operation = f"the {action.split(':')[-1]} operation" if action else "the operation"
    too_large = LambdaError(413, "RequestEntityTooLargeException",
                            f"Request must be smaller than {limit} bytes for {operation}")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # later request.body()/json() calls reuse what was read
    return body


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object ({} when empty), or SerializationException."""
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise LambdaError(400, "SerializationException", "Could not parse request body into "
                          "json: the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise LambdaError(400, "SerializationException", "Request body must be a JSON object")
    return body


async def authenticate(request: Request, registry: Registry, service: str = "lambda") -> Caller:
    """Verify the request's SigV4 signature for `service`, in any region."""
    body = await read_body(request)
    signed = sigv4.HttpRequest(
        method=request.method,
        raw_path=request.scope.get("raw_path") or request.scope["path"].encode(),
        query_string=request.scope.get("query_string", b""),
        headers=request.scope["headers"],
        body=body,
    )
    try:
        verified = sigv4.verify(
            signed,
            service=service,
            region=None,
            now=datetime.now(UTC),
            lookup=registry.credential,
        )
    except sigv4.MissingAuthentication as exc:
        auth_log.info("control plane: unsigned %s %s refused", request.method, request.url.path)
        raise LambdaError(403, "MissingAuthenticationTokenException",
                          "Missing Authentication Token") from exc
    except sigv4.SigV4Error as exc:
        auth_log.info("control plane: %s: %s", exc.error_type, exc.reason)
        raise LambdaError(exc.status, exc.error_type, exc.message) from exc

    identity = registry.identity(verified.access_key_id)
    if identity is None:
        raise LambdaError(403, "UnrecognizedClientException",
                          "The security token included in the request is invalid.")
    return Caller(identity, verified.region, verified.service, verified.access_key_id)


def authorize(
    request: Request,
    registry: Registry,
    caller: Caller,
    action: str,
    function: LambdaFunction | None,
    resource: str,
    extra_context: dict[str, str] | None = None,
) -> None:
    """Raise AccessDeniedException unless IAM allows `action` on `resource` for the caller.

    `function` is None for account-wide actions (ListFunctions) and for functions that do
    not exist: no resource policy applies, and the resource's account is the one its ARN names.
    """
    identity = caller.identity
    source_ip = request.client.host if request.client else "127.0.0.1"
    now = datetime.now(UTC)
    context: Context
    if function is not None:
        context = call_context(
            registry,
            function,
            identity,
            source_ip=source_ip,
            user_agent=request.headers.get("user-agent"),
            referer=request.headers.get("referer"),
            now=now,
        )
        policies = policy_set(registry, function, identity)
    else:
        context = {
            "aws:SourceIp": source_ip,
            "aws:SecureTransport": "true" if registry.secure_transport else "false",
            "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(now.timestamp())),
            "aws:RequestedRegion": caller.region,
            **principal_context(identity, registry),
        }
        account = registry.accounts.get(identity.account)
        policies = iam.PolicySet(
            identity=identity.policies,
            boundary=identity.boundary,
            session=identity.session_policy,
            scps=account.scps if account is not None else (),
        )
    context.update(extra_context or {})

    decision = iam.evaluate(
        iam.AuthorizationRequest(
            principal=identity.principal,
            action=action,
            resource=resource,
            resource_account=function.account if function is not None else _account_of(
                resource, identity.account),
            context=context,
        ),
        policies,
    )
    if decision.allowed:
        return

    auth_log.info("control plane: denied %s %s on %s: %s", identity.arn, action, resource,
                  decision.reason)
    raise LambdaError(403, "AccessDeniedException",
                      denial_message(identity, action, resource, decision))


def _account_of(resource: str, default: str) -> str:
    parts = resource.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" and parts[4] else default


# AWS's wording for each layer that can deny an API call.
_EXPLICIT = {
    "scp": "a service control policy",
    "resource": "a resource-based policy",
    "boundary": "a permissions boundary",
    "session": "a session policy",
    "identity": "an identity-based policy",
}
_IMPLICIT = {
    "scp": "service control policy",
    "resource": "resource-based policy",
    "boundary": "permissions boundary",
    "session": "session policy",
    "identity": "identity-based policy",
}


def denial_message(
    identity: Identity, action: str, resource: str, decision: iam.Decision
) -> str:
    """AWS's wording for a denied API call, naming the layer that blocked it."""
    layer = decision.blocked_by or "identity"
    if decision.outcome == "ExplicitDeny":
        why = f"with an explicit deny in {_EXPLICIT.get(layer, _EXPLICIT['identity'])}"
    else:
        why = f"because no {_IMPLICIT.get(layer, _IMPLICIT['identity'])} allows the {action} " \
              "action"
    return (f"User: {identity.arn} is not authorized to perform: {action} on resource: "
            f"{resource} {why}")
