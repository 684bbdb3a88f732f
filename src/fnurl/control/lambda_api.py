"""The Lambda REST API subset for function URLs and permissions, as boto3 and the CLI call it.

Shapes, status codes and error texts follow the spec (function-urls.md section 8) so that a
`ClientError` from boto3 carries the same code and message as against AWS.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fnurl.control import errors
from fnurl.control.auth import Caller, authenticate, authorize, json_body
from fnurl.control.errors import LambdaError
from fnurl.control.functions import configuration
from fnurl.control.invoke import Invoker
from fnurl.control.state import POLICY_LIMIT, ControlState, policy_text
from fnurl.registry import LambdaFunction
from fnurl.runtime import Runtime

logger = logging.getLogger("fnurl.control")

QUALIFIER_PATTERN = r"((?!^\d+$)^[0-9a-zA-Z-_]+$)"
ANY_QUALIFIER = re.compile(r"^[a-zA-Z0-9$_-]{0,128}$")
ALIAS_NAME = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$")
STATEMENT_ID = re.compile(r"^[a-zA-Z0-9-_]{1,100}$")
REMOVE_STATEMENT_ID = re.compile(r"^[a-zA-Z0-9-_.]{1,100}$")
ACTION = re.compile(r"^(lambda:[*]|lambda:[a-zA-Z]+|[*])$")
ACCOUNT = re.compile(r"^\d{12}$")
PRINCIPAL_ARN = re.compile(
    r"^arn:aws[a-z-]*:(iam::\d{12}:(root|user/.+|role/.+)|sts::\d{12}:"
    r"(assumed-role/.+/.+|federated-user/.+))$"
)
SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9.-]*\.(amazonaws\.com|amazon\.com)(\.cn)?$")
ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
# A function as the API names it: a name, a partial ARN (`123456789012:function:name`,
# `function:name`) or an ARN, each with an optional `:qualifier` (botocore's pattern).
FUNCTION_REFERENCE = re.compile(
    r"^(arn:(?P<partition>aws[a-zA-Z-]*)?:lambda:)?(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d{1}:)?"
    r"(?P<account>\d{12}:)?(function:)?(?P<name>[a-zA-Z0-9-_]+)"
    r"(:(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$"
)

Handler = Callable[[Request, Caller], Awaitable[Response]]


def routes(state: ControlState, runtime: Runtime | None = None) -> list[Route]:
    api = LambdaApi(state, Invoker(runtime) if runtime is not None else None)

    def route(path: str, handler: Handler, **actions: str) -> Route:
        return Route(path, api.endpoint(handler, {m: f"lambda:{a}" for m, a in actions.items()}),
                     methods=list(actions))

    return [
        route("/2021-10-31/functions/{name}/url", api.url_config,
              GET="GetFunctionUrlConfig", POST="CreateFunctionUrlConfig",
              PUT="UpdateFunctionUrlConfig", DELETE="DeleteFunctionUrlConfig"),
        route("/2021-10-31/functions/{name}/urls", api.list_url_configs,
              GET="ListFunctionUrlConfigs"),
        route("/2015-03-31/functions/{name}/invocations", api.invoke, POST="InvokeFunction"),
        route("/2015-03-31/functions/{name}/policy", api.policy,
              GET="GetPolicy", POST="AddPermission"),
        route("/2015-03-31/functions/{name}/policy/{sid}", api.remove_permission,
              DELETE="RemovePermission"),
        route("/2015-03-31/functions/{name}", api.get_function,
              GET="GetFunction", DELETE="DeleteFunction"),
        route("/2015-03-31/functions/{name}/configuration", api.function_configuration,
              GET="GetFunctionConfiguration", PUT="UpdateFunctionConfiguration"),
        route("/2015-03-31/functions/{name}/code", api.function_code, PUT="UpdateFunctionCode"),
        route("/2015-03-31/functions/{name}/aliases", api.aliases,
              GET="ListAliases", POST="CreateAlias"),
        route("/2015-03-31/functions/{name}/aliases/{alias}", api.alias,
              GET="GetAlias", PUT="UpdateAlias", DELETE="DeleteAlias"),
        route("/2015-03-31/functions/{name}/versions", api.versions,
              GET="ListVersionsByFunction", POST="PublishVersion"),
        route("/2015-03-31/functions", api.functions, GET="ListFunctions", POST="CreateFunction"),
        route("/2015-03-31/functions/", api.functions, GET="ListFunctions",
              POST="CreateFunction"),
    ]


class LambdaApi:
    def __init__(self, state: ControlState, invoker: Invoker | None = None) -> None:
        self.state = state
        self.registry = state.registry
        self.invoker = invoker

    def endpoint(
        self, handler: Handler, actions: dict[str, str]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            request_id = str(uuid.uuid4())
            request.state.request_id = request_id     # an Invoke's is its invocation's too
            request.state.action = actions[request.method]
            try:
                caller = await authenticate(request, self.registry)
                response = await handler(request, caller)
            except LambdaError as exc:
                return exc.response(request_id)
            except Exception:
                # A full disk or a broken store: an AWS-shaped 500 and the cause in the log.
                logger.exception("control plane: %s %s (request %s) failed inside fnurl",
                                 request.method, request.url.path, request_id)
                return LambdaError(500, "ServiceException", "fnurl failed to handle this "
                                   "request; see the server log").response(request_id)
            response.headers["x-amzn-RequestId"] = request_id
            return response

        return run

    # Functions

    async def functions(self, request: Request, caller: Caller) -> Response:
        if request.method == "POST":
            return await self.state.functions.create(request, caller)
        return self.state.functions.list(request, caller)

    async def get_function(self, request: Request, caller: Caller) -> Response:
        if request.method == "DELETE":
            function, qualifier, arn = self.function(request, caller)
            if function is None or qualifier not in (None, "$LATEST"):
                raise errors.not_found(f"Function not found: {arn}")
            return self.state.functions.delete(request, caller, function, arn)
        function, qualifier, arn = self._qualified(request, caller)
        resource = f"{arn}:{qualifier}" if qualifier else arn
        authorize(request, self.registry, caller, "lambda:GetFunction", function, resource)
        return self.state.functions.get(function, request,
                                        self._configuration(function, qualifier, arn))

    async def function_configuration(self, request: Request, caller: Caller) -> Response:
        if request.method == "PUT":
            function, arn = self._unqualified(request, caller)
            return await self.state.functions.update_configuration(request, caller, function,
                                                                   arn)
        function, qualifier, arn = self._qualified(request, caller)
        resource = f"{arn}:{qualifier}" if qualifier else arn
        authorize(request, self.registry, caller, "lambda:GetFunctionConfiguration",
                  function, resource)
        return JSONResponse(self._configuration(function, qualifier, arn))

    def _qualified(
        self, request: Request, caller: Caller
    ) -> tuple[LambdaFunction, str | None, str]:
        """The function, the version or alias named (None for $LATEST), the unqualified ARN."""
        query_qualifier = request.query_params.get("Qualifier")
        if query_qualifier is not None and not ANY_QUALIFIER.match(query_qualifier):
            raise errors.validation(query_qualifier, "qualifier",
                                    "Member must satisfy regular expression pattern: "
                                    "(|[a-zA-Z0-9$_-]+)")
        function, qualifier, arn = self.function(request, caller)
        if qualifier == "$LATEST":
            qualifier = None
        if function is None:
            raise errors.not_found(f"Function not found: {arn}")
        if qualifier is not None and not self._qualifier_exists(function, qualifier):
            self.authorize_missing(request, caller, f"{arn}:{qualifier}")
            raise errors.not_found(f"Function not found: {arn}:{qualifier}")
        return function, qualifier, arn

    def _qualifier_exists(self, function: LambdaFunction, qualifier: str) -> bool:
        if qualifier.isdigit():
            return self._version_exists(function, qualifier)
        return self.state.alias(function, qualifier) is not None

    def _configuration(
        self, function: LambdaFunction, qualifier: str | None, arn: str
    ) -> dict[str, Any]:
        """What GetFunctionConfiguration answers for $LATEST, a version or an alias."""
        latest = configuration(function, self.state.functions.record(function.name))
        if qualifier is None:
            return latest
        version = self._version_of(function, qualifier)
        published = next((v for v in self.state.versions(function) if v["version"] == version),
                         None)
        shown = {**latest, **published["configuration"]} if published is not None else latest
        # Asked through an alias, Lambda names the alias in FunctionArn.
        return {**shown, "FunctionArn": f"{arn}:{qualifier}"}

    def _version_of(self, function: LambdaFunction, qualifier: str | None) -> str:
        """The version a qualifier runs: itself, the one its alias points at, or $LATEST."""
        if qualifier is None:
            return "$LATEST"
        alias = None if qualifier.isdigit() else self.state.alias(function, qualifier)
        return str(alias["version"]) if alias is not None else qualifier

    async def invoke(self, request: Request, caller: Caller) -> Response:
        function, qualifier, arn = self._qualified(request, caller)
        resource = f"{arn}:{qualifier}" if qualifier else arn
        target = self.state.qualified(function, qualifier)
        # No lambda:InvokedViaFunctionUrl: a statement meant for URL calls does not match.
        authorize(request, self.registry, caller, "lambda:InvokeFunction", target, resource)
        if self.invoker is None:
            raise LambdaError(500, "ServiceException", "fnurl serves no runtime here")
        return await self.invoker.invoke(request, target, self._version_of(function, qualifier),
                                         resource if qualifier else None)

    async def function_code(self, request: Request, caller: Caller) -> Response:
        function, arn = self._unqualified(request, caller)
        return await self.state.functions.update_code(request, caller, function, arn)

    # Aliases and versions

    def _unqualified(self, request: Request, caller: Caller) -> tuple[LambdaFunction, str]:
        function, qualifier, arn = self.function(request, caller)
        if function is None or qualifier is not None:
            raise errors.not_found(f"Function not found: {arn}")
        return function, arn

    def _version_exists(self, function: LambdaFunction, version: Any) -> bool:
        if version == "$LATEST":
            return True
        return any(v["version"] == version for v in self.state.versions(function))

    async def aliases(self, request: Request, caller: Caller) -> Response:
        function, arn = self._unqualified(request, caller)
        if request.method == "GET":
            authorize(request, self.registry, caller, "lambda:ListAliases", function, arn)
            return JSONResponse({"Aliases": [_alias_shape(arn, a)
                                             for a in self.state.aliases(function)]})

        body = await json_body(request)
        name = body.get("Name")
        if not isinstance(name, str) or not ALIAS_NAME.match(name):
            raise errors.validation(name, "name", "Member must satisfy regular expression "
                                    "pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
        authorize(request, self.registry, caller, "lambda:CreateAlias", function,
                  f"{arn}:{name}")
        version = body.get("FunctionVersion")
        if not isinstance(version, str) or not self._version_exists(function, version):
            raise errors.not_found(f"Function not found: {arn}:{version}")
        if self.state.alias(function, name) is not None:
            raise errors.conflict(f"Alias already exists: {arn}:{name}")
        value = {"name": name, "version": version,
                 "description": str(body.get("Description", "")),
                 "revision_id": str(uuid.uuid4())}
        self.state.put_alias(function, name, value)
        return JSONResponse(_alias_shape(arn, value), status_code=201)

    async def alias(self, request: Request, caller: Caller) -> Response:
        function, arn = self._unqualified(request, caller)
        name = unquote(request.path_params["alias"])
        action = {"GET": "lambda:GetAlias", "PUT": "lambda:UpdateAlias",
                  "DELETE": "lambda:DeleteAlias"}[request.method]
        authorize(request, self.registry, caller, action, function, f"{arn}:{name}")
        current = self.state.alias(function, name)
        if request.method == "DELETE":
            if current is not None:
                self.state.delete_alias(function, name)
            return Response(status_code=204)
        if current is None:
            raise errors.not_found(f"Cannot find alias arn: {arn}:{name}")
        if request.method == "GET":
            return JSONResponse(_alias_shape(arn, current))

        body = await json_body(request)
        revision = body.get("RevisionId")
        if revision is not None and revision != current["revision_id"]:
            raise errors.precondition_failed()
        version = body.get("FunctionVersion", current["version"])
        if not self._version_exists(function, version):
            raise errors.not_found(f"Function not found: {arn}:{version}")
        value = {**current, "version": version,
                 "description": str(body.get("Description", current["description"])),
                 "revision_id": str(uuid.uuid4())}
        self.state.put_alias(function, name, value)
        return JSONResponse(_alias_shape(arn, value))

    async def versions(self, request: Request, caller: Caller) -> Response:
        function, arn = self._unqualified(request, caller)
        record = self.state.functions.record(function.name)
        latest = configuration(function, record)
        if request.method == "GET":
            authorize(request, self.registry, caller, "lambda:ListVersionsByFunction",
                      function, arn)
            published = [{**latest, **v["configuration"]} for v in self.state.versions(function)]
            return JSONResponse({"Versions": [latest, *published]})

        body = await json_body(request)
        authorize(request, self.registry, caller, "lambda:PublishVersion", function, arn)
        snapshot = {"Description": str(body.get("Description", "")),
                    "CodeSha256": latest["CodeSha256"]}
        number = self.state.publish_version(function, {"configuration": snapshot})
        snapshot.update({"Version": number, "FunctionArn": f"{arn}:{number}"})
        self.state.put_version_configuration(function, number, snapshot)
        return JSONResponse({**latest, **snapshot}, status_code=201)

    # Resolving the function a request names

    def function(
        self, request: Request, caller: Caller, *, allow_qualifier: bool = True
    ) -> tuple[LambdaFunction | None, str | None, str]:
        """The function named in the path (name, name:qualifier, ARN or partial ARN), the
        qualifier, and the ARN the request is about (for errors and authorization)."""
        raw = unquote(request.path_params["name"])
        if len(raw) > 140:
            raise errors.validation(raw, "functionName",
                                    "Member must have length less than or equal to 140")
        match = FUNCTION_REFERENCE.match(raw)
        if match is None or len(match.group("name")) > 64 or (
            raw.startswith("arn:") and not match.group("region")
        ):
            raise errors.invalid_function_name(raw)
        name = match.group("name")
        qualifier = match.group("qualifier")
        region = (match.group("region") or "").rstrip(":") or caller.region
        account = (match.group("account") or "").rstrip(":") or caller.identity.account
        partition = match.group("partition") or "aws"

        query_qualifier = request.query_params.get("Qualifier")
        if query_qualifier is not None and qualifier is not None and query_qualifier != qualifier:
            raise errors.invalid_parameter(
                "The derived qualifier from the function name does not match the specified "
                "qualifier."
            )
        qualifier = query_qualifier or qualifier
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
        function = self.registry.functions.get(name)
        if function is not None and (
            function.account != account or function.region != region or partition != "aws"
        ):
            function = None
        if function is None:
            self.authorize_missing(request, caller, f"{arn}:{qualifier}" if qualifier else arn)
        return function, qualifier, arn

    def authorize_missing(self, request: Request, caller: Caller, resource: str) -> None:
        """Before saying a function, version or alias does not exist, check that the caller
        may ask: AWS authorizes first, so a 404 never tells an outsider what exists."""
        authorize(request, self.registry, caller, request.state.action, None, resource)

    def url_function(
        self, request: Request, caller: Caller
    ) -> tuple[LambdaFunction | None, str, str | None]:
        """The function (None when it or its alias is missing), the ARN, the alias."""
        function, qualifier, arn = self.function(request, caller)
        if qualifier is None:
            return function, arn, None
        if qualifier == "$LATEST" or qualifier.isdigit() or not re.match(
            QUALIFIER_PATTERN, qualifier
        ):
            raise errors.validation(
                qualifier, "qualifier",
                f"Member must satisfy regular expression pattern: {QUALIFIER_PATTERN}",
            )
        # The URL of a deleted alias outlives it (and answers 403): it can still be read,
        # changed and deleted, but no new one can be made for a missing alias.
        if function is not None and self.state.alias(function, qualifier) is None and (
            request.method == "POST" or self.state.url_config(function, qualifier) is None
        ):
            self.authorize_missing(request, caller, f"{arn}:{qualifier}")
            function = None
        return function, f"{arn}:{qualifier}", qualifier

    # Function URL configs

    async def url_config(self, request: Request, caller: Caller) -> Response:
        function, arn, alias = self.url_function(request, caller)
        method = request.method
        action = {
            "POST": "lambda:CreateFunctionUrlConfig",
            "GET": "lambda:GetFunctionUrlConfig",
            "PUT": "lambda:UpdateFunctionUrlConfig",
            "DELETE": "lambda:DeleteFunctionUrlConfig",
        }[method]
        body = await json_body(request) if method in ("POST", "PUT") else {}

        if function is None:
            if method in ("POST", "PUT"):
                raise errors.not_found("Function does not exist")
            raise errors.not_found()

        context = {}
        if "AuthType" in body:
            context["lambda:FunctionUrlAuthType"] = str(body["AuthType"])
        if method != "POST" and function.url is not None:
            context.setdefault("lambda:FunctionUrlAuthType", function.url.auth_type)
        context["lambda:FunctionArn"] = arn
        authorize(request, self.registry, caller, action, function, arn, context)

        current = self.state.url_config(function, alias)
        if method == "POST":
            return self._create(request, function, arn, body, current, alias)
        if current is None:
            raise errors.not_found()
        if method == "GET":
            return JSONResponse(self._shape(request, function, arn, current, modified=True))
        if method == "DELETE":
            self.state.delete_url(function, alias)
            return Response(status_code=204)
        auth_type, cors, invoke_mode = _url_fields(body, required=False)
        updated = self.state.update_url(function, current, auth_type, cors, invoke_mode, alias)
        shape = self._shape(request, function, arn, updated, modified=True)
        if not updated.get("invoke_mode_set"):
            shape.pop("InvokeMode", None)
        return JSONResponse(shape)

    def _create(
        self, request: Request, function: LambdaFunction, arn: str, body: dict[str, Any],
        current: dict[str, Any] | None, alias: str | None,
    ) -> Response:
        auth_type, cors, invoke_mode = _url_fields(body, required=True)
        if current is not None:
            raise errors.conflict(
                f"Failed to create function url config for [functionArn = {arn}]. "
                "Error message:  FunctionUrlConfig exists for this Lambda function"
            )
        assert auth_type is not None
        created = self.state.create_url(function, auth_type, cors or None, invoke_mode, alias)
        shape = self._shape(request, function, arn, created, modified=False)
        # Create echoes Cors and InvokeMode only when the request sent them.
        if "Cors" not in body:
            shape.pop("Cors", None)
        if "InvokeMode" not in body:
            shape.pop("InvokeMode", None)
        return JSONResponse(shape, status_code=201)

    def _shape(
        self, request: Request, function: LambdaFunction, arn: str, value: dict[str, Any],
        *, modified: bool,
    ) -> dict[str, Any]:
        host = request.headers.get("host", "127.0.0.1:9000")
        port = host.rsplit(":", 1)[1] if ":" in host else "80"
        shape: dict[str, Any] = {
            "FunctionUrl": f"http://{value['url_id']}.lambda-url.{function.region}.localhost:"
                           f"{port}/",
            "FunctionArn": arn,
            "AuthType": value["auth_type"],
        }
        if value.get("cors"):
            shape["Cors"] = value["cors"]
        shape["CreationTime"] = value["creation_time"]
        if modified:
            shape["LastModifiedTime"] = value["last_modified_time"]
        shape["InvokeMode"] = value.get("invoke_mode") or "BUFFERED"
        return shape

    async def list_url_configs(self, request: Request, caller: Caller) -> Response:
        function, qualifier, arn = self.function(request, caller)
        if function is None or qualifier is not None:
            raise errors.not_found("Function does not exist")
        max_items = request.query_params.get("MaxItems")
        if max_items is not None and not max_items.lstrip("-").isdigit():
            raise LambdaError(400, "ValidationException",
                              f"Unable to convert value '{max_items}' to an integer: MaxItems")
        if max_items is not None and not 1 <= int(max_items) <= 50:
            bound = ("greater than or equal to 1" if int(max_items) < 1
                     else "less than or equal to 50")
            raise errors.validation(max_items, "maxItems", f"Member must have value {bound}")
        authorize(request, self.registry, caller, "lambda:ListFunctionUrlConfigs", function, arn)

        configs = [
            self._shape(request, function, f"{arn}:{alias}" if alias else arn, value,
                        modified=True)
            for alias, value in self.state.url_configs(function)
        ]
        start = int(request.query_params.get("Marker") or 0) if (
            request.query_params.get("Marker") or "0").isdigit() else 0
        limit = int(max_items) if max_items else 50
        page = configs[start:start + limit]
        body: dict[str, Any] = {"FunctionUrlConfigs": page}
        if start + limit < len(configs):
            body["NextMarker"] = str(start + limit)
        return JSONResponse(body)

    # Resource policy

    def policy_function(
        self, request: Request, caller: Caller
    ) -> tuple[LambdaFunction, str, str | None]:
        """The function, the ARN its policy statements name, and the alias (or None)."""
        function, qualifier, arn = self.function(request, caller)
        if qualifier == "$LATEST":
            raise errors.invalid_parameter("We currently do not support adding policies for "
                                           "$LATEST.")
        if function is None:
            raise errors.not_found(f"Function not found: {arn}")
        if qualifier is not None:
            if not self._qualifier_exists(function, qualifier):
                self.authorize_missing(request, caller, f"{arn}:{qualifier}")
                if qualifier.isdigit():
                    raise errors.not_found(f"Function not found: {arn}:{qualifier}")
                raise errors.not_found(f"Cannot find alias arn: {arn}:{qualifier}")
            return function, f"{arn}:{qualifier}", qualifier
        return function, arn, None

    async def policy(self, request: Request, caller: Caller) -> Response:
        if request.method == "GET":
            return await self.get_policy(request, caller)
        return await self.add_permission(request, caller)

    async def get_policy(self, request: Request, caller: Caller) -> Response:
        function, qualifier, arn = self.function(request, caller)
        if function is None:
            raise errors.not_found()
        if qualifier is not None and not self._qualifier_exists(function, qualifier):
            self.authorize_missing(request, caller, f"{arn}:{qualifier}")
            raise errors.not_found()
        resource = f"{arn}:{qualifier}" if qualifier else arn
        authorize(request, self.registry, caller, "lambda:GetPolicy", function, resource)

        current = self.state.policy(function, qualifier)
        if current is None:
            raise errors.not_found()
        return JSONResponse({"Policy": policy_text(current["statements"]),
                             "RevisionId": current["revision_id"]})

    async def add_permission(self, request: Request, caller: Caller) -> Response:
        body = await json_body(request)
        statement = build_statement(body, "")  # validate before anything else, as AWS does
        function, arn, alias = self.policy_function(request, caller)
        statement["Resource"] = arn

        context = {"lambda:Principal": str(body.get("Principal"))}
        if "FunctionUrlAuthType" in body:
            context["lambda:FunctionUrlAuthType"] = str(body["FunctionUrlAuthType"])
        authorize(request, self.registry, caller, "lambda:AddPermission", function, arn, context)

        current = self.state.policy(function, alias)
        statements = list(current["statements"]) if current else []
        revision = body.get("RevisionId")
        if revision is not None and (current is None or current["revision_id"] != revision):
            raise errors.precondition_failed()
        if any(s.get("Sid") == statement["Sid"] for s in statements):
            raise errors.conflict(
                f"The statement id ({statement['Sid']}) provided already exists. Please provide "
                "a new statement id, or remove the existing statement."
            )
        statements.append(statement)
        size = len(policy_text(statements).encode())
        if size > POLICY_LIMIT:
            raise LambdaError(400, "PolicyLengthExceededException",
                              f"The final policy size ({size}) is bigger than the limit "
                              f"({POLICY_LIMIT}).")
        self.state.set_statements(function, statements, alias)
        return JSONResponse({"Statement": json.dumps(statement, separators=(",", ":"))}, 201)

    async def remove_permission(self, request: Request, caller: Caller) -> Response:
        sid = unquote(request.path_params["sid"])
        if len(sid) > 100:
            raise errors.validation(sid, "statementId",
                                    "Member must have length less than or equal to 100")
        if not REMOVE_STATEMENT_ID.match(sid):
            raise errors.validation(sid, "statementId",
                                    "Member must satisfy regular expression pattern: "
                                    "([a-zA-Z0-9-_.]+)")
        function, qualifier, arn = self.function(request, caller)
        if function is None:
            raise errors.not_found(f"No policy found for: {arn}")
        if qualifier is not None and not self._qualifier_exists(function, qualifier):
            self.authorize_missing(request, caller, f"{arn}:{qualifier}")
            raise errors.not_found(f"Cannot find alias arn: {arn}:{qualifier}")
        resource = f"{arn}:{qualifier}" if qualifier else arn
        authorize(request, self.registry, caller, "lambda:RemovePermission", function, resource,
                  {})

        current = self.state.policy(function, qualifier)
        if current is None:
            raise errors.not_found("No policy is associated with the given resource.")
        revision = request.query_params.get("RevisionId")
        if revision is not None and current["revision_id"] != revision:
            raise errors.precondition_failed()
        remaining = [s for s in current["statements"] if s.get("Sid") != sid]
        if len(remaining) == len(current["statements"]):
            raise errors.not_found(f"Statement {sid} is not found in resource policy.")
        self.state.set_statements(function, remaining, qualifier)
        return Response(status_code=204)


def _alias_shape(arn: str, alias: dict[str, Any]) -> dict[str, Any]:
    return {
        "AliasArn": f"{arn}:{alias['name']}",
        "Name": alias["name"],
        "FunctionVersion": alias["version"],
        "Description": alias["description"],
        "RevisionId": alias["revision_id"],
    }


def _url_fields(
    body: dict[str, Any], *, required: bool
) -> tuple[str | None, dict[str, Any] | None, str | None]:
    auth_type = body.get("AuthType")
    if auth_type is None and required:
        raise errors.validation("null", "authType", "Member must not be null")
    if auth_type is not None and auth_type not in ("NONE", "AWS_IAM"):
        raise errors.validation(auth_type, "authType",
                                "Member must satisfy enum value set: [NONE, AWS_IAM]")
    invoke_mode = body.get("InvokeMode")
    if invoke_mode is not None and invoke_mode not in ("BUFFERED", "RESPONSE_STREAM"):
        raise errors.validation(invoke_mode, "invokeMode",
                                "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]")
    cors = body.get("Cors")
    if cors is not None:
        cors = _validated_cors(cors)
    return auth_type, cors, invoke_mode


_CORS_LISTS = {
    # field: (API member name, most items, longest item)
    "AllowHeaders": ("cors.allowHeaders", 100, 1024),
    "AllowMethods": ("cors.allowMethods", 6, 6),
    "AllowOrigins": ("cors.allowOrigins", 100, 253),
    "ExposeHeaders": ("cors.exposeHeaders", 100, 1024),
}


def _validated_cors(cors: Any) -> dict[str, Any]:
    """The Cors structure, type-checked and within AWS's limits, or a 400 naming the field."""
    if not isinstance(cors, dict):
        raise _serialization("Cors must be a structure")
    unknown = set(cors) - {*_CORS_LISTS, "AllowCredentials", "MaxAge"}
    if unknown:
        raise _serialization(f"Cors has unknown member(s): {', '.join(sorted(unknown))}")

    for field, (member, most, longest) in _CORS_LISTS.items():
        values = cors.get(field)
        if values is None:
            continue
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise _serialization(f"Cors.{field} must be a list of strings")
        if len(values) > most:
            raise errors.validation(values, member, f"Member must have length less than or "
                                    f"equal to {most}")
        for value in values:
            if not 1 <= len(value) <= longest:
                raise errors.validation(values, member, "Member must satisfy constraint: "
                                        f"[Member must have length less than or equal to "
                                        f"{longest}, Member must have length greater than or "
                                        "equal to 1]")
    credentials = cors.get("AllowCredentials")
    if credentials is not None and not isinstance(credentials, bool):
        raise _serialization("Cors.AllowCredentials must be a boolean")
    max_age = cors.get("MaxAge")
    if max_age is not None:
        if isinstance(max_age, bool) or not isinstance(max_age, int):
            raise _serialization("Cors.MaxAge must be an integer")
        if not 0 <= max_age <= 86400:
            raise errors.validation(max_age, "cors.maxAge",
                                    "Member must have value less than or equal to 86400")
    return dict(cors)


def _serialization(message: str) -> LambdaError:
    return LambdaError(400, "SerializationException", message)


SOURCE_ARN = (r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:"
              r"(\d{12})?:(.*)")
EVENT_SOURCE_TOKEN = r"[a-zA-Z0-9._\-]+"
_STRING_MEMBERS = ("StatementId", "Action", "Principal", "SourceArn", "SourceAccount",
                   "EventSourceToken", "Qualifier", "RevisionId", "PrincipalOrgID",
                   "FunctionUrlAuthType")


def build_statement(body: dict[str, Any], resource: str) -> dict[str, Any]:
    """AddPermission's parameters as the statement AWS stores (spec 7.3), validated."""
    for member in _STRING_MEMBERS:
        if member in body and body[member] is not None and not isinstance(body[member], str):
            raise _serialization(f"{member} must be a string")
    sid = body.get("StatementId")
    if isinstance(sid, str) and len(sid) > 100:
        raise errors.validation(sid, "statementId",
                                "Member must have length less than or equal to 100")
    if not isinstance(sid, str) or not STATEMENT_ID.match(sid):
        raise errors.validation(sid, "statementId",
                                "Member must satisfy regular expression pattern: "
                                "([a-zA-Z0-9-_]+)")
    action = body.get("Action")
    if not isinstance(action, str) or not ACTION.match(action):
        raise errors.validation(action, "action",
                                "Member must satisfy regular expression pattern: "
                                "(lambda:[*]|lambda:[a-zA-Z]+|[*])")

    principal = body.get("Principal")
    statement_principal: Any
    if principal == "*":
        statement_principal = "*"
    elif isinstance(principal, str) and ACCOUNT.match(principal):
        statement_principal = {"AWS": f"arn:aws:iam::{principal}:root"}
    elif isinstance(principal, str) and PRINCIPAL_ARN.match(principal):
        statement_principal = {"AWS": principal}
    elif isinstance(principal, str) and SERVICE_PRINCIPAL.match(principal):
        statement_principal = {"Service": principal}
    else:
        raise errors.invalid_parameter(
            "The provided principal was invalid. Please check the principal and try again."
        )

    url_auth_type = body.get("FunctionUrlAuthType")
    if url_auth_type is not None:
        if action.lower() != "lambda:invokefunctionurl":
            raise errors.invalid_parameter(
                "FunctionUrlAuthType is only supported for lambda:InvokeFunctionUrl action"
            )
        if url_auth_type not in ("NONE", "AWS_IAM"):
            raise errors.validation(url_auth_type, "functionUrlAuthType",
                                    "Member must satisfy enum value set: [NONE, AWS_IAM]")
    via_url = body.get("InvokedViaFunctionUrl")
    if via_url is not None and not isinstance(via_url, bool):
        raise _serialization("InvokedViaFunctionUrl must be a boolean")
    if via_url is not None and action.lower() != "lambda:invokefunction":
        raise errors.invalid_parameter(
            "InvokedViaFunctionUrl is only supported for lambda:InvokeFunction action"
        )
    source_account = body.get("SourceAccount")
    if source_account is not None and not ACCOUNT.match(str(source_account)):
        raise errors.validation(source_account, "sourceAccount",
                                "Member must satisfy regular expression pattern: \\d{12}")
    org_id = body.get("PrincipalOrgID")
    if org_id is not None and not ORG_ID.match(str(org_id)):
        raise errors.validation(org_id, "principalOrgID",
                                "Member must satisfy regular expression pattern: "
                                "^o-[a-z0-9]{10,32}$")

    source_arn = body.get("SourceArn")
    if source_arn is not None and not re.fullmatch(SOURCE_ARN, source_arn):
        raise errors.validation(source_arn, "sourceArn",
                                f"Member must satisfy regular expression pattern: {SOURCE_ARN}")
    token = body.get("EventSourceToken")
    if token is not None and not (re.fullmatch(EVENT_SOURCE_TOKEN, token) and len(token) <= 256):
        raise errors.validation(token, "eventSourceToken",
                                "Member must satisfy regular expression pattern: "
                                f"{EVENT_SOURCE_TOKEN}")

    string_equals: dict[str, str] = {}
    if source_account is not None:
        string_equals["AWS:SourceAccount"] = str(source_account)
    if url_auth_type is not None:
        string_equals["lambda:FunctionUrlAuthType"] = url_auth_type
    if org_id is not None:
        string_equals["aws:PrincipalOrgID"] = str(org_id)
    if token is not None:
        string_equals["lambda:EventSourceToken"] = token
    condition: dict[str, Any] = {}
    if string_equals:
        condition["StringEquals"] = string_equals
    if source_arn is not None:
        condition["ArnLike"] = {"AWS:SourceArn": source_arn}
    if via_url is True:
        condition["Bool"] = {"lambda:InvokedViaFunctionUrl": "true"}

    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": statement_principal,
        "Action": action,
        "Resource": resource,
    }
    if condition:
        statement["Condition"] = condition
    return statement
