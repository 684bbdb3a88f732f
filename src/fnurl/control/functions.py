"""Enough of CreateFunction, GetFunction and ListFunctions for tools that make functions.

A function created through the API is a zip of Python code unpacked under the state
directory, recorded in the store, and from then on served like one from the project file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import shutil
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fnurl.config import (
    ENVIRONMENT_NAME,
    MAX_ENVIRONMENT_BYTES,
    environment_size,
    is_reserved_variable,
)
from fnurl.control import errors
from fnurl.control.auth import Caller, authorize, json_body
from fnurl.control.errors import LambdaError
from fnurl.registry import LambdaFunction, Registry
from fnurl.store import Store

FUNCTION = "function"
FUNCTION_ARN_NAME = re.compile(
    r"^(arn:aws:lambda:[a-z0-9-]+:)?(\d{12}:)?function:(?P<name>[a-zA-Z0-9-_]{1,64})$"
)
ROLE = re.compile(r"^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
HANDLER = re.compile(r"^[^\s]{1,128}$")
MAX_ZIP_BYTES = 50 * 1024 * 1024


def last_modified(epoch: float) -> str:
    """FunctionConfiguration.LastModified: milliseconds and a +0000 offset."""
    millis = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{millis:03d}+0000"


def code_sha256(code_dir: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for path in sorted(p for p in code_dir.rglob("*") if p.is_file()):
        if "__pycache__" in path.parts:
            continue
        data = path.read_bytes()
        digest.update(path.relative_to(code_dir).as_posix().encode() + b"\0" + data)
        size += len(data)
    return base64.b64encode(digest.digest()).decode(), size


def configuration(function: LambdaFunction, record: dict[str, Any] | None) -> dict[str, Any]:
    """The FunctionConfiguration shape, for file-declared and API-created functions."""
    record = record or {}
    sha, size = (record["code_sha256"], record["code_size"]) if "code_sha256" in record else (
        code_sha256(function.code_dir) if function.code_dir.is_dir() else ("", 0))
    shape: dict[str, Any] = {
        "FunctionName": function.name,
        "FunctionArn": function.arn,
        "Runtime": function.runtime,
        "Role": record.get("role") or function.role or (
            f"arn:aws:iam::{function.account}:role/{function.name}-role"),
        "Handler": function.handler,
        "CodeSize": size,
        "Description": record.get("description", ""),
        "Timeout": function.timeout,
        "MemorySize": function.memory,
        "LastModified": record.get("last_modified", last_modified(time.time())),
        "CodeSha256": sha,
        "Version": "$LATEST",
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": record.get("revision_id", str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                                function.arn))),
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
    }
    if function.environment:
        shape["Environment"] = {"Variables": dict(function.environment)}
    return shape


class Functions:
    def __init__(self, registry: Registry, store: Store, code_root: Path) -> None:
        self.registry = registry
        self.store = store
        self.code_root = code_root
        # Set by ControlState: keep URL and alias entries in step with the function.
        self.on_change: Callable[[str], None] = lambda name: None
        self.on_delete: Callable[[str], None] = lambda name: None

    def restore(self) -> None:
        """Put API-created functions back into the registry (file-declared names win)."""
        for name, _, row in self.store.items(FUNCTION):
            if row.value is None or name in self.registry.functions:
                continue
            self.registry.functions[name] = self._function(name, row.value)

    def _function(self, name: str, record: dict[str, Any]) -> LambdaFunction:
        return LambdaFunction(
            name=name,
            account=record["account"],
            region=record["region"],
            handler=record["handler"],
            code_dir=self.code_root / record.get("code_path", name),
            runtime=record["runtime"],
            environment=dict(record.get("environment", {})),
            timeout=int(record.get("timeout", 3)),
            memory=int(record.get("memory", 128)),
            role=record.get("role"),
            reserved_concurrency=None,
            url=None,
            resource_policy=None,
            policy_document=None,
            tags=dict(record.get("tags", {})),
        )

    def record(self, name: str) -> dict[str, Any] | None:
        row = self.store.get(FUNCTION, name)
        return row.value if row is not None else None

    async def create(self, request: Request, caller: Caller) -> Response:
        body = await json_body(request)
        name = body.get("FunctionName")
        if isinstance(name, str) and (named := FUNCTION_ARN_NAME.match(name)):
            name = named.group("name")
        if not isinstance(name, str) or not errors.FUNCTION_NAME.match(name):
            raise errors.invalid_function_name(name)
        role = _checked_role(body.get("Role"), caller.identity.account)
        handler = body.get("Handler")
        runtime = body.get("Runtime")
        if not isinstance(handler, str) or not HANDLER.match(handler):
            raise errors.invalid_parameter("The Handler parameter is required for Zip functions")
        if not isinstance(runtime, str) or not runtime.startswith("python"):
            raise errors.invalid_parameter(
                f"fnurl runs Python handlers only; Runtime {runtime!r} is not supported")
        timeout = _integer(body, "Timeout", 3, 1, 900)
        memory = _integer(body, "MemorySize", 128, 128, 10240)
        environment = (body.get("Environment") or {}).get("Variables") or {}
        tags = body.get("Tags") or {}
        for label, mapping in (("Environment.Variables", environment), ("Tags", tags)):
            if not isinstance(mapping, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
            ):
                raise LambdaError(400, "SerializationException",
                                  f"{label} must be a map of strings to strings")
        _check_environment(environment)
        code = body.get("Code") or {}
        if not isinstance(code, dict) or "ZipFile" not in code:
            raise errors.invalid_parameter(
                "fnurl accepts Code.ZipFile only (S3 locations and images are not supported)")

        account, region = caller.identity.account, caller.region
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
        placeholder = self._function(name, {"account": account, "region": region,
                                            "handler": handler, "runtime": runtime})
        authorize(request, self.registry, caller, "lambda:CreateFunction", placeholder, arn)
        if name in self.registry.functions:
            raise errors.conflict(f"Function already exist: {name}")

        code_path = f"{name}/{uuid.uuid4().hex[:12]}"
        target = self.code_root / code_path
        _unzip(code["ZipFile"], target)
        sha, size = code_sha256(target)
        record = {
            "code_path": code_path,
            "account": account, "region": region, "handler": handler, "runtime": runtime,
            "role": role, "description": str(body.get("Description", "")),
            "timeout": timeout, "memory": memory, "environment": dict(environment),
            "tags": dict(tags), "code_sha256": sha, "code_size": size,
            "last_modified": last_modified(time.time()), "revision_id": str(uuid.uuid4()),
        }
        try:
            self.store.put(FUNCTION, name, "", record, source="api", file_hash="")
        except BaseException:
            # Not recorded (a full disk): the unpacked code would be an orphan nobody serves.
            shutil.rmtree(target, ignore_errors=True)
            raise
        function = self._function(name, record)
        self.registry.functions[name] = function
        return JSONResponse(configuration(function, record), status_code=201)

    def _owned(self, function: LambdaFunction) -> dict[str, Any]:
        record = self.record(function.name)
        if record is None:
            # The project file owns this function; an API change would be undone by it.
            raise errors.invalid_parameter(
                f"Function {function.name} is declared in the project file; change it there "
                "(fnurl applies edits of the file while serving)")
        return record

    def _save(self, function: LambdaFunction, record: dict[str, Any]) -> JSONResponse:
        record = {**record, "last_modified": last_modified(time.time()),
                  "revision_id": str(uuid.uuid4())}
        self.store.put(FUNCTION, function.name, "", record, source="api", file_hash="")
        updated = replace(
            function, code_dir=self.code_root / record.get("code_path", function.name),
            handler=record["handler"], runtime=record["runtime"],
            environment=dict(record.get("environment", {})), timeout=int(record["timeout"]),
            memory=int(record["memory"]), role=record.get("role"),
        )
        self.registry.functions[function.name] = updated
        self.on_change(function.name)
        return JSONResponse(configuration(updated, record))

    async def update_configuration(
        self, request: Request, caller: Caller, function: LambdaFunction, arn: str
    ) -> Response:
        body = await json_body(request)
        authorize(request, self.registry, caller, "lambda:UpdateFunctionConfiguration",
                  function, arn)
        record = dict(self._owned(function))
        revision = body.get("RevisionId")
        if revision is not None and revision != record.get("revision_id"):
            raise errors.precondition_failed()

        if "Timeout" in body:
            record["timeout"] = _integer(body, "Timeout", 3, 1, 900)
        if "MemorySize" in body:
            record["memory"] = _integer(body, "MemorySize", 128, 128, 10240)
        if "Handler" in body:
            handler = body["Handler"]
            if not isinstance(handler, str) or not HANDLER.match(handler):
                raise errors.validation(handler, "handler", "Member must satisfy regular "
                                        "expression pattern: [^\\s]+")
            record["handler"] = handler
        if "Description" in body:
            record["description"] = str(body["Description"])
        if "Role" in body:
            record["role"] = _checked_role(body["Role"], function.account)
        if "Environment" in body:
            environment = (body.get("Environment") or {}).get("Variables") or {}
            _check_environment(environment)
            record["environment"] = dict(environment)
        return self._save(function, record)

    async def update_code(
        self, request: Request, caller: Caller, function: LambdaFunction, arn: str
    ) -> Response:
        body = await json_body(request)
        authorize(request, self.registry, caller, "lambda:UpdateFunctionCode", function, arn)
        record = dict(self._owned(function))
        if "ZipFile" not in body:
            raise errors.invalid_parameter(
                "fnurl accepts ZipFile only (S3 locations and images are not supported)")

        # New code goes to a new directory: environments made from the old one are retired
        # on the next call, as Lambda's are once the update completes.
        code_path = f"{function.name}/{uuid.uuid4().hex[:12]}"
        target = self.code_root / code_path
        _unzip(body["ZipFile"], target)
        record["code_path"] = code_path
        record["code_sha256"], record["code_size"] = code_sha256(target)
        old = function.code_dir
        try:
            response = self._save(function, record)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return response

    def delete(self, request: Request, caller: Caller, function: LambdaFunction,
               arn: str) -> Response:
        authorize(request, self.registry, caller, "lambda:DeleteFunction", function, arn)
        self._owned(function)

        self.store.put(FUNCTION, function.name, "", None, source="api", file_hash="")
        self.on_delete(function.name)
        shutil.rmtree(self.code_root / function.name, ignore_errors=True)
        return Response(status_code=204)

    def get(self, function: LambdaFunction, request: Request,
            shown: dict[str, Any]) -> Response:
        """GetFunction, `shown` being the configuration of the version or alias asked for."""
        body: dict[str, Any] = {
            "Configuration": shown,
            "Code": {"RepositoryType": "S3",
                     "Location": f"file://{function.code_dir}"},
        }
        if function.tags:
            body["Tags"] = dict(function.tags)
        if function.reserved_concurrency is not None:
            body["Concurrency"] = {"ReservedConcurrentExecutions": function.reserved_concurrency}
        return JSONResponse(body)

    def list(self, request: Request, caller: Caller) -> Response:
        authorize(request, self.registry, caller, "lambda:ListFunctions", None, "*")
        account, region = caller.identity.account, caller.region
        names = sorted(
            name for name, f in self.registry.functions.items()
            if f.account == account and f.region == region
        )
        marker = request.query_params.get("Marker")
        start = int(marker) if marker and marker.isdigit() else 0
        raw_max = request.query_params.get("MaxItems")
        limit = min(50, int(raw_max)) if raw_max and raw_max.isdigit() and int(raw_max) else 50
        page = names[start:start + limit]
        body: dict[str, Any] = {
            "Functions": [configuration(self.registry.functions[n], self.record(n))
                          for n in page]
        }
        if start + limit < len(names):
            body["NextMarker"] = str(start + limit)
        return JSONResponse(body)


def _check_environment(environment: Any) -> None:
    if not isinstance(environment, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in environment.items()
    ):
        raise LambdaError(400, "SerializationException",
                          "Environment.Variables must be a map of strings to strings")
    reserved = sorted(k for k in environment if is_reserved_variable(k))
    if reserved:
        raise errors.invalid_parameter(
            "Lambda was unable to configure your environment variables because the "
            "environment variables you have provided contains reserved keys that are "
            f"currently not supported for modification. Reserved keys used in this "
            f"request: {', '.join(reserved)}")
    bad_names = [k for k in environment if not ENVIRONMENT_NAME.match(k)]
    if bad_names:
        raise LambdaError(400, "ValidationException", (
            "1 validation error detected: Value at 'environment.variables' failed to satisfy "
            "constraint: Map keys must satisfy constraint: [Member must satisfy regular "
            "expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]"))
    if environment_size(environment) > MAX_ENVIRONMENT_BYTES:
        measured = json.dumps(environment, separators=(",", ":"), ensure_ascii=False)
        raise errors.invalid_parameter(
            "Lambda was unable to configure your environment variables because the "
            "environment variables you have provided exceeded the 4KB limit. String "
            f"measured: {measured}")


def _checked_role(role: Any, account: str) -> str:
    if not isinstance(role, str) or not ROLE.match(role):
        raise errors.validation(role, "role", "Member must satisfy regular expression "
                                "pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?"
                                "[a-zA-Z_0-9+=,.@\\-_/]+")
    if role.split(":")[4] != account:
        # Passing a role needs iam:PassRole, which reaches only the caller's own account.
        raise errors.invalid_parameter("The role defined for the function cannot be assumed "
                                       "by Lambda.")
    return role


def _integer(body: dict[str, Any], field: str, default: int, low: int, high: int) -> int:
    value = body.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise LambdaError(400, "SerializationException", f"{field} must be an integer")
    if not low <= value <= high:
        bound = f"greater than or equal to {low}" if value < low else (
            f"less than or equal to {high}")
        raise errors.validation(value, field[0].lower() + field[1:],
                                f"Member must have value {bound}")
    return value


def _unzip(encoded: Any, target: Path) -> None:
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise errors.invalid_parameter("Could not unzip uploaded file. Please check your file, "
                                       "then try to upload again.") from exc
    if len(data) > MAX_ZIP_BYTES:
        raise LambdaError(413, "RequestEntityTooLargeException",
                          "Request must be smaller than 70167211 bytes for the CreateFunction "
                          "operation")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise errors.invalid_parameter("Could not unzip uploaded file. Please check your file, "
                                       "then try to upload again.") from exc

    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    root = target.resolve()
    for member in members:
        destination = (target / member.filename).resolve()
        # A zip may name paths outside the directory; Lambda would never unpack those.
        if not destination.is_relative_to(root):
            shutil.rmtree(target)
            raise errors.invalid_parameter("Could not unzip uploaded file. Please check your "
                                           "file, then try to upload again.")
        if member.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(archive.read(member))
