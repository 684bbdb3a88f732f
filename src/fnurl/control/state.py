"""Function URL configs and resource policies: the project file, the store, the registry.

Precedence, the same for every object (a function's URL config, a function's policy): the
last writer wins. At start the project file's definition is used unless the API changed the
object since the file last changed that definition; an API call always applies and persists.
So an AddPermission survives restarts, and editing that function's `policy` in the file later
replaces it again.

Every change is written to the store before it reaches the registry, so the data plane only
ever serves what is durable, and serves it from the next request on.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from fnurl import iam
from fnurl.config import Cors, LoadedProject
from fnurl.control.functions import Functions
from fnurl.registry import FunctionUrl, LambdaFunction, Registry
from fnurl.store import Store

URL = "url"
POLICY = "policy"
ALIAS = "alias"
VERSION = "version"
POLICY_LIMIT = 20480
_URL_ID_ALPHABET = string.ascii_lowercase + string.digits


def timestamp() -> str:
    """Lambda's URL-config timestamps: UTC, nanoseconds, `Z`."""
    now = time.time_ns()
    seconds, nanos = divmod(now, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def new_url_id() -> str:
    return "".join(secrets.choice(_URL_ID_ALPHABET) for _ in range(32))


def cors_to_api(cors: Cors) -> dict[str, Any]:
    return {
        "AllowCredentials": cors.allow_credentials,
        "AllowHeaders": list(cors.allow_headers),
        "AllowMethods": list(cors.allow_methods),
        "AllowOrigins": list(cors.allow_origins),
        "ExposeHeaders": list(cors.expose_headers),
        "MaxAge": cors.max_age,
    }


def cors_from_api(cors: dict[str, Any]) -> Cors:
    return Cors(
        allow_credentials=bool(cors.get("AllowCredentials", False)),
        allow_headers=list(cors.get("AllowHeaders", [])),
        allow_methods=list(cors.get("AllowMethods", [])),
        allow_origins=list(cors.get("AllowOrigins", [])),
        expose_headers=list(cors.get("ExposeHeaders", [])),
        max_age=int(cors.get("MaxAge", 0)),
    )


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def policy_document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Id": "default", "Statement": statements}


def policy_text(statements: list[dict[str, Any]]) -> str:
    return json.dumps(policy_document(statements), separators=(",", ":"))


class ControlState:
    """The mutable half of the registry: URL configs and policies, kept durable."""

    def __init__(
        self, registry: Registry, store: Store, loaded: LoadedProject,
        code_root: Path | None = None,
    ) -> None:
        self.registry = registry
        self.store = store
        if code_root is None:
            code_root = Path(tempfile.mkdtemp(prefix="fnurl-functions-"))
        self.functions = Functions(registry, store, code_root)
        self.functions.on_change = self._function_changed
        self.functions.on_delete = self._function_deleted
        self.functions.restore()
        self._file_urls: dict[str, tuple[dict[str, Any] | None, str]] = {}
        self._file_policies: dict[str, tuple[dict[str, Any] | None, str]] = {}
        self._remember_file(loaded)
        self._seed()

    def reload(self, loaded: LoadedProject) -> None:
        """Re-seed from an edited project file (the registry was rebuilt from it)."""
        self.functions.restore()
        self._file_urls = {}
        self._file_policies = {}
        self._remember_file(loaded)
        self._seed()

    def _remember_file(self, loaded: LoadedProject) -> None:
        for name, function in self.registry.functions.items():
            spec = loaded.project.functions.get(name)
            url_definition = spec.url.model_dump() if spec is not None and spec.url else None
            url_value = None
            if function.url is not None:
                now = timestamp()
                url_value = {
                    "url_id": function.url.url_id,
                    "auth_type": function.url.auth_type,
                    "invoke_mode": function.url.invoke_mode,
                    "invoke_mode_set": True,
                    "cors": cors_to_api(function.url.cors) if function.url.cors else None,
                    "creation_time": now,
                    "last_modified_time": now,
                }
            self._file_urls[name] = (url_value, _hash(url_definition))

            statements = (
                list(function.policy_document["Statement"]) if function.policy_document else []
            )
            policy_value = {"revision_id": str(uuid.uuid4()), "statements": statements}
            self._file_policies[name] = (policy_value if statements else None, _hash(statements))

    def _seed(self) -> None:
        for name in self.registry.functions:
            for kind, definitions in ((URL, self._file_urls), (POLICY, self._file_policies)):
                file_value, file_hash = definitions[name]
                row = self.store.get(kind, name)
                if row is not None and row.file_hash == file_hash:
                    value = row.value   # unchanged in the file: keep what the store has
                else:
                    self.store.put(kind, name, "", file_value, source="file", file_hash=file_hash)
                    value = file_value
                self._apply(kind, name, value)

    def _apply(self, kind: str, name: str, value: dict[str, Any] | None) -> None:
        function = self.registry.functions[name]
        if kind == URL:
            if function.url is not None:
                self.registry.urls.pop(function.url.url_id, None)
            function = replace(function, url=_function_url(value))
        else:
            statements = value["statements"] if value is not None else []
            current = function.policy_document
            if not (current and list(current["Statement"]) == statements):
                policy, document = _policy(value, name)
                function = replace(function, resource_policy=policy, policy_document=document)

        self.registry.functions[name] = function
        if function.url is not None:
            self.registry.urls[function.url.url_id] = function
        self._refresh_aliases(name)

    def _function_changed(self, name: str) -> None:
        self._apply(URL, name, self._value(URL, name, ""))

    def _function_deleted(self, name: str) -> None:
        """A deleted function takes its URL configs, aliases, versions and policies with it."""
        for kind in (URL, POLICY, ALIAS, VERSION):
            for _, qualifier, row in self.store.items(kind, name):
                if row.value is not None:
                    self.store.put(kind, name, qualifier, None, source="api", file_hash="")
        function = self.registry.functions.pop(name, None)
        for url_id, served in list(self.registry.urls.items()):
            if served.name == name:
                del self.registry.urls[url_id]
        if function is not None:
            self._file_urls.pop(name, None)
            self._file_policies.pop(name, None)

    def _refresh_aliases(self, name: str) -> None:
        """Rebuild the copies that serve alias URLs (they share the function's code)."""
        function = self.registry.functions.get(name)
        if function is None:
            return
        for url_id, served in list(self.registry.urls.items()):
            if served.name == name and served.qualifier is not None:
                del self.registry.urls[url_id]
        for _, alias, row in self.store.items(URL, name):
            if not alias or row.value is None:
                continue
            served = self.qualified(function, alias)
            if self.alias(function, alias) is None:
                # A URL whose alias was deleted stays, and answers 403: no policy matches it.
                served = replace(served, resource_policy=None, policy_document=None)
            self.registry.urls[row.value["url_id"]] = replace(served,
                                                              url=_function_url(row.value))

    def _value(self, kind: str, name: str, qualifier: str) -> dict[str, Any] | None:
        row = self.store.get(kind, name, qualifier)
        return row.value if row is not None else None

    def _write(
        self, kind: str, name: str, value: dict[str, Any] | None, qualifier: str = ""
    ) -> None:
        # Whatever cannot be served must never reach the store: it would fail every start.
        if kind == URL:
            _function_url(value)
        elif kind == POLICY:
            _policy(value, name)
        if qualifier:
            # Alias-level objects exist only through the API.
            self.store.put(kind, name, qualifier, value, source="api", file_hash="")
            self._refresh_aliases(name)
            return
        # Functions created through the API have no file definition: hash "nothing".
        if kind == URL:
            file_hash = self._file_urls.get(name, (None, _hash(None)))[1]
        else:
            file_hash = self._file_policies.get(name, (None, _hash([])))[1]
        self.store.put(kind, name, "", value, source="api", file_hash=file_hash)
        self._apply(kind, name, value)

    # URL configs

    def url_config(
        self, function: LambdaFunction, qualifier: str | None = None
    ) -> dict[str, Any] | None:
        return self._value(URL, function.name, qualifier or "")

    def url_configs(self, function: LambdaFunction) -> list[tuple[str, dict[str, Any]]]:
        return [
            (qualifier, row.value) for _, qualifier, row in self.store.items(URL, function.name)
            if row.value is not None
        ]

    def create_url(
        self, function: LambdaFunction, auth_type: str, cors: dict[str, Any] | None,
        invoke_mode: str | None, qualifier: str | None = None,
    ) -> dict[str, Any]:
        now = timestamp()
        value = {
            "url_id": new_url_id(),
            "auth_type": auth_type,
            "invoke_mode": invoke_mode or "BUFFERED",
            "invoke_mode_set": invoke_mode is not None,
            "cors": cors,
            "creation_time": now,
            "last_modified_time": now,
        }
        self._write(URL, function.name, value, qualifier or "")
        return value

    def update_url(
        self, function: LambdaFunction, current: dict[str, Any], auth_type: str | None,
        cors: dict[str, Any] | None, invoke_mode: str | None, qualifier: str | None = None,
    ) -> dict[str, Any]:
        value = dict(current)
        if auth_type is not None:
            value["auth_type"] = auth_type
        if cors is not None:
            value["cors"] = cors or None   # Cors: {} clears it
        if invoke_mode is not None:
            value["invoke_mode"] = invoke_mode
            value["invoke_mode_set"] = True
        value["last_modified_time"] = timestamp()
        self._write(URL, function.name, value, qualifier or "")
        return value

    def delete_url(self, function: LambdaFunction, qualifier: str | None = None) -> None:
        self._write(URL, function.name, None, qualifier or "")

    # Resource policy (each alias has its own)

    def policy(
        self, function: LambdaFunction, qualifier: str | None = None
    ) -> dict[str, Any] | None:
        value = self._value(POLICY, function.name, qualifier or "")
        if value is None or not value["statements"]:
            return None
        return value

    def set_statements(
        self, function: LambdaFunction, statements: list[dict[str, Any]],
        qualifier: str | None = None,
    ) -> str:
        """Replace the policy's statements; returns the new RevisionId."""
        revision_id = str(uuid.uuid4())
        value = {"revision_id": revision_id, "statements": statements} if statements else None
        self._write(POLICY, function.name, value, qualifier or "")
        return revision_id

    # Aliases and versions

    def qualified(self, function: LambdaFunction, qualifier: str | None) -> LambdaFunction:
        """The function as a version or alias: the same code, that qualifier's own policy."""
        if qualifier is None:
            return function
        policy, document = _policy(self._value(POLICY, function.name, qualifier),
                                   f"{function.name}:{qualifier}")
        return replace(function, qualifier=qualifier, resource_policy=policy,
                       policy_document=document)

    def alias(self, function: LambdaFunction, name: str) -> dict[str, Any] | None:
        return self._value(ALIAS, function.name, name)

    def aliases(self, function: LambdaFunction) -> list[dict[str, Any]]:
        return [
            row.value for _, _, row in self.store.items(ALIAS, function.name)
            if row.value is not None
        ]

    def put_alias(self, function: LambdaFunction, name: str, value: dict[str, Any]) -> None:
        self._write(ALIAS, function.name, value, name)

    def delete_alias(self, function: LambdaFunction, name: str) -> None:
        # The alias's policy goes with it; a URL on it stays and answers 403.
        self.store.put(POLICY, function.name, name, None, source="api", file_hash="")
        self._write(ALIAS, function.name, None, name)

    def versions(self, function: LambdaFunction) -> list[dict[str, Any]]:
        found = [
            row.value for _, _, row in self.store.items(VERSION, function.name)
            if row.value is not None
        ]
        return sorted(found, key=lambda v: int(v["version"]))

    def publish_version(self, function: LambdaFunction, value: dict[str, Any]) -> str:
        """Record version N+1. Its code is the function's code dir (not a snapshot)."""
        number = str(len(self.versions(function)) + 1)
        self.store.put(VERSION, function.name, number, {**value, "version": number},
                       source="api", file_hash="")
        return number

    def put_version_configuration(
        self, function: LambdaFunction, number: str, configuration: dict[str, Any]
    ) -> None:
        self.store.put(VERSION, function.name, number,
                       {"version": number, "configuration": configuration},
                       source="api", file_hash="")


def _function_url(value: dict[str, Any] | None) -> FunctionUrl | None:
    if value is None:
        return None
    cors = value.get("cors")
    return FunctionUrl(
        url_id=value["url_id"],
        auth_type=value["auth_type"],
        invoke_mode=value.get("invoke_mode") or "BUFFERED",
        cors=cors_from_api(cors) if cors else None,
    )


def _policy(
    value: dict[str, Any] | None, name: str
) -> tuple[iam.Policy | None, dict[str, Any] | None]:
    statements = value["statements"] if value is not None else []
    if not statements:
        return None, None
    document = policy_document(statements)
    policy = iam.parse_policy(document, iam.PolicyKind.RESOURCE, name=f"resource policy of {name}")
    return policy, document
