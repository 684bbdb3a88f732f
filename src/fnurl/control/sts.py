"""An STS subset on the control endpoint: GetCallerIdentity, AssumeRole, GetSessionToken.

Query-protocol requests (form-encoded POSTs, as boto3 and the CLI send them), XML replies and
XML errors in STS's shapes. Temporary keys start with ASIA, expire, and work only together
with their session token. Issued sessions are kept in the store, so a restart does not log
tests out.
"""

from __future__ import annotations

import logging
import re
import secrets
import string
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response

from fnurl import iam
from fnurl.config import LoadedProject, roles_by_arn
from fnurl.control.auth import Caller, authenticate
from fnurl.control.errors import LambdaError
from fnurl.control.state import ControlState
from fnurl.gateway.authorize import principal_context
from fnurl.gateway.errors import unknown_operation
from fnurl.registry import Identity, KeyHolder, LambdaFunction, unique_id
from fnurl.runtime.process import CREDENTIALS_MARGIN
from fnurl.sigv4 import Credential

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
SESSION = "session"
SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]+$")
_KEY_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"

auth_log = logging.getLogger("fnurl.auth")


class StsError(Exception):
    def __init__(self, status: int, code: str, message: str, kind: str = "Sender") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.kind = status, code, message, kind

    def response(self, request_id: str) -> Response:
        body = (
            f'<ErrorResponse xmlns="{NAMESPACE}">'
            f"<Error><Type>{self.kind}</Type><Code>{escape(self.code)}</Code>"
            f"<Message>{escape(self.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Response(body, status_code=self.status, media_type="text/xml",
                        headers={"x-amzn-RequestId": request_id})


@dataclass(frozen=True)
class Role:
    arn: str
    account: str
    name: str
    role_id: str
    trust_policy: iam.Policy | None
    policies: tuple[iam.Policy, ...]
    boundary: iam.Policy | None
    tags: dict[str, str]
    max_session_duration: int


def roles_of(loaded: LoadedProject) -> dict[str, Role]:
    roles: dict[str, Role] = {}
    for arn, (account_id, name, role) in roles_by_arn(loaded.project).items():
        owner = f"role {name}"
        roles[arn] = Role(
            arn=arn,
            account=account_id,
            name=name,
            role_id=unique_id("AROA", account_id, "role", name),
            trust_policy=iam.parse_policy(role.trust_policy, iam.PolicyKind.TRUST,
                                          name=f"trust policy of {owner}")
            if role.trust_policy is not None else None,
            policies=tuple(
                iam.parse_policy(doc, iam.PolicyKind.IDENTITY,
                                 name=f"identity policy {index} of {owner}")
                for index, doc in enumerate(role.policies)
            ),
            boundary=iam.parse_policy(role.permissions_boundary, iam.PolicyKind.BOUNDARY,
                                      name=f"permissions boundary of {owner}")
            if role.permissions_boundary is not None else None,
            tags=dict(role.tags),
            max_session_duration=role.max_session_duration,
        )
    return roles


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class Sts:
    def __init__(self, state: ControlState, loaded: LoadedProject) -> None:
        self.state = state
        self.registry = state.registry
        self.roles = roles_of(loaded)
        self._function_sessions: dict[str, tuple[str, dict[str, str], float]] = {}
        self._restore_sessions()

    def reload(self, loaded: LoadedProject) -> None:
        self.roles = roles_of(loaded)
        self._function_sessions.clear()
        self._restore_sessions()

    def function_credentials(self, function: LambdaFunction) -> tuple[dict[str, str], float] | None:
        """The execution role's session a function's environments run with, as on Lambda
        (session name: the function's name); one per function, renewed as it nears expiry."""
        role = self.roles.get(function.role or "")
        if role is None or role.account != function.account:
            return None
        now = time.time()
        kept = self._function_sessions.get(function.name)
        if kept is not None and kept[0] == role.arn and kept[2] - now > 2 * CREDENTIALS_MARGIN:
            return kept[1], kept[2]
        expires_at = now + role.max_session_duration
        access_key, session, _ = self._issue({
            "type": "role", "role_arn": role.arn, "name": function.name[:64], "policy": None,
            "tags": {}, "expires_at": expires_at,
        })
        variables = {"AWS_ACCESS_KEY_ID": access_key,
                     "AWS_SECRET_ACCESS_KEY": session["secret"],
                     "AWS_SESSION_TOKEN": session["token"]}
        self._function_sessions[function.name] = (role.arn, variables, expires_at)
        return variables, expires_at

    # Sessions

    def _restore_sessions(self) -> None:
        now = time.time()
        for access_key, _, row in self.state.store.items(SESSION):
            if row.value is not None and row.value["expires_at"] > now:
                holder = self._holder(access_key, row.value)
                if holder is not None:
                    self.registry.keys[access_key] = holder
            elif row.value is not None and row.value["expires_at"] < now - 86400:
                # Expired a day ago: nothing will ask for it again; keep the file small.
                self.state.store.delete(SESSION, access_key)

    def _holder(self, access_key: str, session: dict[str, Any]) -> KeyHolder | None:
        credential = Credential(access_key, session["secret"], session["token"])
        if session["type"] == "role":
            role = self.roles.get(session["role_arn"])
            if role is None:
                return None
            arn = f"arn:aws:sts::{role.account}:assumed-role/{role.name}/{session['name']}"
            policy = None
            if session.get("policy"):
                policy = iam.parse_policy(session["policy"], iam.PolicyKind.SESSION,
                                          name=f"session policy of {session['name']}")
            identity = Identity(
                principal=iam.Principal.from_arn(arn, role.account),
                account=role.account,
                name=role.name,
                user_id=f"{role.role_id}:{session['name']}",
                policies=role.policies,
                boundary=role.boundary,
                tags={**role.tags, **session.get("tags", {})},
                role_arn=role.arn,
                session_policy=policy,
            )
        else:
            base = self.registry.identity(session["base_key"])
            if base is None:
                return None
            identity = base
        return KeyHolder(credential, identity, expires_at=session["expires_at"])

    def _issue(self, session: dict[str, Any]) -> tuple[str, dict[str, Any], KeyHolder]:
        access_key = "ASIA" + _random(_KEY_ALPHABET, 16)
        session["secret"] = _random(_SECRET_ALPHABET, 40)
        session["token"] = "FwoGZXIvYXdzE" + _random(_SECRET_ALPHABET, 200)
        holder = self._holder(access_key, session)
        if holder is None:
            raise StsError(500, "InternalFailure", "the session's principal vanished", "Receiver")
        # Durable before it is handed out: a restart must not invalidate issued keys.
        self.state.store.put(SESSION, access_key, "", session, source="api", file_hash="")
        self.registry.keys[access_key] = holder
        return access_key, session, holder

    # The endpoint

    async def handle(self, request: Request) -> Response:
        if _signed_for(request) not in (None, "sts"):
            # Signed for Lambda (or another service): the root path is no Lambda API.
            return unknown_operation()
        request_id = str(uuid.uuid4())
        try:
            try:
                caller = await authenticate(request, self.registry, service="sts")
            except LambdaError as exc:
                raise StsError(exc.status, _sts_code(exc.code), exc.message) from exc
            parameters = dict(parse_qsl((await request.body()).decode("utf-8", "replace"),
                                        keep_blank_values=True))
            parameters.update(request.query_params)
            action = parameters.get("Action", "")
            if action == "GetCallerIdentity":
                result = self.get_caller_identity(caller)
            elif action == "AssumeRole":
                result = self.assume_role(request, caller, parameters)
            elif action == "GetSessionToken":
                result = self.get_session_token(caller, parameters)
            else:
                raise StsError(400, "InvalidAction",
                               f"Could not find operation {action} for version 2011-06-15")
        except StsError as exc:
            return exc.response(request_id)
        except Exception:
            # A full disk or a broken store: an AWS-shaped 500 and the cause in the log.
            auth_log.exception("sts: request %s failed inside fnurl", request_id)
            return StsError(500, "InternalFailure", "fnurl failed to handle this request; "
                            "see the server log", "Receiver").response(request_id)
        body = (
            f'<{action}Response xmlns="{NAMESPACE}"><{action}Result>{result}</{action}Result>'
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            f"</{action}Response>"
        )
        return Response(body, media_type="text/xml", headers={"x-amzn-RequestId": request_id})

    def get_caller_identity(self, caller: Caller) -> str:
        identity = caller.identity
        return (f"<Arn>{escape(identity.arn)}</Arn><UserId>{escape(identity.user_id)}</UserId>"
                f"<Account>{identity.account}</Account>")

    def assume_role(self, request: Request, caller: Caller, parameters: dict[str, str]) -> str:
        role_arn = parameters.get("RoleArn", "")
        if not ROLE_ARN.match(role_arn):
            raise _invalid(role_arn, "roleArn", "Member must have length greater than or equal "
                           "to 20" if len(role_arn) < 20 else "Member must satisfy regular "
                           "expression pattern: arn:aws:iam::\\d{12}:role/.+")
        name = parameters.get("RoleSessionName", "")
        if not 2 <= len(name) <= 64:
            raise _invalid(name, "roleSessionName", "Member must have length greater than or "
                           "equal to 2" if len(name) < 2 else "Member must have length less "
                           "than or equal to 64")
        if not SESSION_NAME.match(name):
            raise _invalid(name, "roleSessionName",
                           "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
        if any(key.startswith("PolicyArns.") for key in parameters):
            raise StsError(400, "ValidationError", "fnurl does not support PolicyArns (managed "
                           "session policies); pass an inline Policy instead")
        duration = _duration(parameters.get("DurationSeconds"), 3600, 900, 43200)
        session_policy = parameters.get("Policy")
        if session_policy is not None and len(session_policy) > 2048:
            raise StsError(400, "PackedPolicyTooLarge", "Packed policy consumes more than 100% "
                           "of the allotted space.")
        tags = _tags(parameters)

        identity = caller.identity
        role = self.roles.get(role_arn)
        denied = StsError(403, "AccessDenied",
                          f"User: {identity.arn} is not authorized to perform: sts:AssumeRole "
                          f"on resource: {role_arn}")
        if role is None or role.trust_policy is None:
            auth_log.info("sts: %s cannot assume %s: no such role", identity.arn, role_arn)
            raise denied
        decision = self._authorize_assume(request, identity, role, "sts:AssumeRole")
        if not decision.allowed:
            auth_log.info("sts: denied %s sts:AssumeRole on %s: %s", identity.arn, role_arn,
                          decision.reason)
            raise denied
        if tags:
            # Session tags become aws:PrincipalTag values: passing them is its own permission.
            tagging = self._authorize_assume(request, identity, role, "sts:TagSession")
            if not tagging.allowed:
                auth_log.info("sts: denied %s sts:TagSession on %s: %s", identity.arn,
                              role_arn, tagging.reason)
                raise StsError(403, "AccessDenied",
                               f"User: {identity.arn} is not authorized to perform: "
                               f"sts:TagSession on resource: {role_arn}")
        if identity.role_arn is not None and duration > 3600:
            raise StsError(400, "ValidationError",
                           "The requested DurationSeconds exceeds the 1 hour session limit "
                           "for roles assumed by role chaining.")
        if duration > role.max_session_duration:
            raise StsError(400, "ValidationError",
                           "The requested DurationSeconds exceeds the MaxSessionDuration set "
                           "for this role.")
        policy_document = None
        if session_policy:
            try:
                iam.parse_policy(session_policy, iam.PolicyKind.SESSION, name="session policy")
            except iam.PolicyError as exc:
                raise StsError(400, "MalformedPolicyDocument", str(exc)) from exc
            policy_document = session_policy

        expires_at = time.time() + duration
        access_key, session, holder = self._issue({
            "type": "role", "role_arn": role.arn, "name": name, "policy": policy_document,
            "tags": tags, "expires_at": expires_at,
        })
        packed = f"<PackedPolicySize>{min(100, 6 + len(tags))}</PackedPolicySize>" if (
            policy_document or tags) else ""
        return (
            f"{_credentials_xml(access_key, session, expires_at)}"
            f"<AssumedRoleUser><AssumedRoleId>{escape(holder.identity.user_id)}</AssumedRoleId>"
            f"<Arn>{escape(holder.identity.arn)}</Arn></AssumedRoleUser>{packed}"
        )

    def _authorize_assume(
        self, request: Request, identity: Identity, role: Role, action: str
    ) -> iam.Decision:
        context = principal_context(identity, self.registry)
        context["aws:SourceIp"] = request.client.host if request.client else "127.0.0.1"
        context["aws:SecureTransport"] = "true"
        context["aws:CurrentTime"] = _iso(time.time())
        context["aws:EpochTime"] = str(int(time.time()))
        account = self.registry.accounts.get(identity.account)
        request_to_assume = iam.AuthorizationRequest(
            principal=identity.principal,
            action=action,
            resource=role.arn,
            resource_account=role.account,
            context=context,
        )
        decision = iam.evaluate(
            request_to_assume,
            iam.PolicySet(
                identity=identity.policies,
                resource=role.trust_policy,
                boundary=identity.boundary,
                session=identity.session_policy,
                scps=account.scps if account is not None else (),
            ),
        )
        if not decision.allowed:
            return decision
        # Unlike other resource policies, a trust policy is needed in the same account too:
        # it must name the caller (or its account, which the identity policy then completes).
        trust = iam.evaluate(request_to_assume, iam.PolicySet(resource=role.trust_policy),
                             explain=True)
        if not any(s.applies and s.effect == "Allow"
                   for report in trust.details for s in report.statements):
            return iam.Decision("ImplicitDeny", f"the trust policy of {role.arn} does not "
                                "allow this caller", blocked_by="resource")
        return decision

    def get_session_token(self, caller: Caller, parameters: dict[str, str]) -> str:
        identity = caller.identity
        holder = self.registry.keys.get(caller.access_key_id)
        if identity.role_arn is not None or (holder is not None and holder.expires_at):
            raise StsError(403, "AccessDenied",
                           "Cannot call GetSessionToken with session credentials")
        duration = _duration(parameters.get("DurationSeconds"), 43200, 900, 129600)
        base_key = next(
            key for key, holder in self.registry.keys.items()
            if holder.identity is identity and holder.expires_at is None
        )
        expires_at = time.time() + duration
        access_key, session, _ = self._issue({
            "type": "user", "base_key": base_key, "expires_at": expires_at,
        })
        return _credentials_xml(access_key, session, expires_at)


def _credentials_xml(access_key: str, session: dict[str, Any], expires_at: float) -> str:
    return (
        f"<Credentials><AccessKeyId>{access_key}</AccessKeyId>"
        f"<SecretAccessKey>{escape(session['secret'])}</SecretAccessKey>"
        f"<SessionToken>{escape(session['token'])}</SessionToken>"
        f"<Expiration>{_iso(expires_at)}</Expiration></Credentials>"
    )


def _duration(raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if raw.isdigit() and low <= int(raw) <= high:
        return int(raw)
    bound = f"greater than or equal to {low}" if raw.isdigit() and int(raw) < low else (
        f"less than or equal to {high}")
    raise StsError(400, "ValidationError",
                   f"1 validation error detected: Value '{raw}' at 'durationSeconds' failed to "
                   f"satisfy constraint: Member must have value {bound}")


def _tags(parameters: dict[str, str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    index = 1
    while f"Tags.member.{index}.Key" in parameters:
        key = parameters[f"Tags.member.{index}.Key"]
        # Tag keys of IAM principals are case-insensitive: Team and team are one key.
        if key.lower() in {k.lower() for k in tags}:
            raise StsError(400, "InvalidParameterValue", "Duplicate tag keys found. Please "
                           "note that Tag keys are case insensitive.")
        tags[key] = parameters.get(f"Tags.member.{index}.Value", "")
        index += 1
    return tags


def _invalid(value: str, member: str, constraint: str) -> StsError:
    return StsError(400, "ValidationError", f"1 validation error detected: Value '{value}' at "
                    f"'{member}' failed to satisfy constraint: {constraint}")


def _sts_code(code: str) -> str:
    # STS names the generic signature failures without the "Exception" suffix.
    return {
        "MissingAuthenticationTokenException": "MissingAuthenticationToken",
        "UnrecognizedClientException": "InvalidClientTokenId",
        "InvalidSignatureException": "SignatureDoesNotMatch",
        "IncompleteSignatureException": "IncompleteSignature",
    }.get(code, code)


def _signed_for(request: Request) -> str | None:
    """The service a request's SigV4 credential scope names, if it is signed."""
    credential = request.query_params.get("X-Amz-Credential")
    if credential is None:
        authorization = request.headers.get("authorization", "")
        _, found, rest = authorization.partition("Credential=")
        if not found:
            return None
        credential = rest.split(",", 1)[0].strip()
    parts = credential.split("/")
    return parts[3] if len(parts) == 5 else None
