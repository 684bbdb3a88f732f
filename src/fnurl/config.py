"""The project file: what accounts, principals, functions and URLs exist.

The file is YAML (JSON is YAML too). Keys follow the contract in DESIGN.md; policy documents
inside it are AWS JSON documents and are validated by `fnurl.iam`. Every problem is reported
with the file, the line where YAML knows it, and the key path, so `fnurl check` can list them
all at once instead of failing on the first.
"""

from __future__ import annotations

import ast
import base64
import datetime
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from fnurl import iam
from fnurl.iam.errors import DUPLICATE_SID

DEFAULT_REGION = "us-east-1"
ACCOUNT_ID = re.compile(r"^\d{12}$")
FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
URL_ID = re.compile(r"^[a-z0-9]{32}$")
ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
ROOT_ID = re.compile(r"^r-[0-9a-z]{4,32}$")
OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
HANDLER = re.compile(r"^[A-Za-z0-9_./-]+\.[A-Za-z_][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccessKey(_Strict):
    id: str = Field(pattern=r"^[A-Z0-9]{16,128}$")
    secret: str = Field(min_length=1)


class User(_Strict):
    access_keys: list[AccessKey] = []
    policies: list[dict[str, Any]] = []
    permissions_boundary: dict[str, Any] | None = None
    tags: dict[str, str] = {}
    path: str = "/"


class Role(_Strict):
    trust_policy: dict[str, Any] | None = None
    policies: list[dict[str, Any]] = []
    permissions_boundary: dict[str, Any] | None = None
    access_keys: list[AccessKey] = []
    tags: dict[str, str] = {}
    path: str = "/"
    max_session_duration: int = Field(default=3600, ge=3600, le=43200)


def role_arn(account_id: str, name: str, role: Role) -> str:
    return f"arn:aws:iam::{account_id}:role{role.path}{name}"


class Account(_Strict):
    legacy_url_permissions: bool = False
    users: dict[str, User] = {}
    roles: dict[str, Role] = {}


class OrganizationalUnit(_Strict):
    id: str | None = Field(default=None, pattern=OU_ID.pattern)
    scps: list[dict[str, Any]] = []
    accounts: list[str] = []
    units: dict[str, OrganizationalUnit] = {}


class Organization(_Strict):
    id: str = Field(pattern=ORG_ID.pattern)
    root_id: str | None = Field(default=None, pattern=ROOT_ID.pattern)
    # The management account is not governed by SCPs; every other listed account is.
    management_account: str | None = Field(default=None, pattern=ACCOUNT_ID.pattern)
    scps: list[dict[str, Any]] = []     # attached to the root
    units: dict[str, OrganizationalUnit] = {}
    account_scps: dict[str, list[dict[str, Any]]] = {}


class Cors(_Strict):
    allow_origins: list[str] = Field(default=[], max_length=100)
    allow_methods: list[str] = Field(default=[], max_length=6)
    allow_headers: list[str] = Field(default=[], max_length=100)
    expose_headers: list[str] = Field(default=[], max_length=100)
    max_age: int = Field(default=0, ge=0, le=86400)
    allow_credentials: bool = False

    @field_validator("allow_methods")
    @classmethod
    def _methods_fit_aws_limits(cls, methods: list[str]) -> list[str]:
        for method in methods:
            if len(method) > 6:
                raise ValueError(f"each method is at most 6 characters (AWS limit), got {method!r}")
        return methods

    @field_validator("allow_headers", "expose_headers")
    @classmethod
    def _headers_fit_aws_limits(cls, names: list[str]) -> list[str]:
        for name in names:
            if len(name) > 1024:
                raise ValueError(f"each header is at most 1024 characters (AWS limit), got "
                                 f"{name[:40]!r}...")
        return names

    @field_validator("allow_origins")
    @classmethod
    def _origins_fit_aws_limits(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if not 1 <= len(origin) <= 253:
                raise ValueError(f"each origin is 1-253 characters (AWS limit), got {origin!r}")
        return origins


class Url(_Strict):
    auth_type: Literal["NONE", "AWS_IAM"]
    id: str | None = Field(default=None, pattern=URL_ID.pattern)
    invoke_mode: Literal["BUFFERED", "RESPONSE_STREAM"] = "BUFFERED"
    cors: Cors | None = None
    public_access: bool = False


def _environment_value(value: Any) -> str:
    # Lambda's environment holds strings only; YAML's `true` and `3` are what the user meant.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, datetime.date):
        raise ValueError(f"YAML read {value.isoformat()} as a date: quote it to pass the text")
    if value is None:
        raise ValueError("is empty (null): write \"\" for an empty value")
    raise ValueError(f"must be a string, number or boolean, got {value!r}")


EnvValue = Annotated[str, BeforeValidator(_environment_value)]


class Function(_Strict):
    account: str | None = None
    region: str | None = None
    handler: str
    code: str = "."
    runtime: str = "python3.12"
    environment: dict[str, EnvValue] = {}
    timeout: int = Field(default=3, ge=1, le=900)
    memory: int = Field(default=128, ge=128, le=10240)
    reserved_concurrency: int | None = Field(default=None, ge=0)
    url: Url | None = None
    policy: list[dict[str, Any]] = []
    tags: dict[str, str] = {}
    role: str | None = Field(default=None, pattern=r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]+$")

    @field_validator("handler")
    @classmethod
    def _handler_is_module_dot_function(cls, handler: str) -> str:
        if not HANDLER.match(handler):
            raise ValueError(f"must be Lambda's module.function form, got {handler!r}")
        return handler


class Project(_Strict):
    region: str = DEFAULT_REGION
    secure_transport: bool = True      # aws:SecureTransport; real URLs are HTTPS-only
    organization: Organization | None = None
    accounts: dict[str, Account] = {}
    functions: dict[str, Function] = {}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a project file, located as precisely as we can."""

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """The project file cannot be served; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class LoadedProject:
    """A validated project: the model plus where it came from."""

    project: Project
    path: Path | None
    root: Path
    warnings: tuple[Problem, ...] = ()   # legal but surely not meant (e.g. never-matching)

    def code_dir(self, function: Function) -> Path:
        return (self.root / function.code).resolve()

    def account_of(self, function: Function) -> str:
        assert function.account is not None  # filled in by load()
        return function.account

    def region_of(self, function: Function) -> str:
        return function.region or self.project.region


# Variables Lambda sets itself; UpdateFunctionConfiguration refuses to override them.
RESERVED_VARIABLES = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})


# The statements the console adds for a public NONE URL; public_access: true adds the same.
PUBLIC_ACCESS_SIDS = ("FunctionURLAllowPublicAccess", "FunctionURLAllowInvokeAction")

# Regions where AWS does not offer function URLs (spec section 1).
REGIONS_WITHOUT_URLS = frozenset((
    "ap-south-2", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
    "ap-east-2", "ca-west-1", "eu-south-2", "eu-central-2", "il-central-1", "me-central-1",
))


def is_reserved_variable(name: str) -> bool:
    return name in RESERVED_VARIABLES


ENVIRONMENT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]+$")
MAX_ENVIRONMENT_BYTES = 4096


def environment_size(variables: dict[str, str]) -> int:
    """The size Lambda holds to its 4 KB limit: the variables as a JSON object."""
    return len(json.dumps(variables, separators=(",", ":"), ensure_ascii=False).encode())


def derive_url_id(account: str, region: str, function_name: str, qualifier: str = "") -> str:
    """A stable 32-character [a-z0-9] url-id, so URLs survive restarts."""
    digest = hashlib.sha256(f"{account}:{region}:{function_name}:{qualifier}".encode()).digest()
    return base64.b32encode(digest).decode().lower().rstrip("=")[:32]


def load(path: Path | str | None, *, text: str | None = None, root: Path | None = None) -> (
    LoadedProject
):
    """Load and validate a project file; raise ConfigError listing every problem."""
    name = str(path) if path is not None else "<project>"
    if text is None:
        assert path is not None
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError([Problem(name, "", f"cannot read file: {exc.strerror}")]) from exc
        except UnicodeDecodeError as exc:
            message = f"not UTF-8 text (byte {exc.object[exc.start]:#x} at offset {exc.start})"
            raise ConfigError([Problem(name, "", message)]) from exc

    try:
        node = yaml.compose(text, Loader=_UniqueKeyLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
        lines = _LineIndex(node)
        data = _stringify_keys(data)
        _environment_as_written(node, data)
    except yaml.YAMLError as exc:
        line = None
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            line = mark.line + 1
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = f"{context}: {problem}" if context else problem
        raise ConfigError([Problem(name, "", f"not valid YAML: {detail}", line)]) from exc
    except RecursionError as exc:
        message = "nests too deeply (a YAML alias that refers to itself?)"
        raise ConfigError([Problem(name, "", message)]) from exc
    if data is None:
        # Most often a file caught half-written by an editor: refusing it keeps a running
        # server on its last good configuration.
        raise ConfigError([Problem(name, "", "the project file is empty (it needs at least "
                                             "accounts: and functions:)")])
    if not isinstance(data, dict):
        raise ConfigError([Problem(name, "", "the project file must be a mapping of keys")])

    try:
        project = Project.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            [_problem_from_pydantic(name, err, lines) for err in exc.errors()]
        ) from exc

    base = root if root is not None else (Path(path).resolve().parent if path else Path.cwd())
    warnings: list[Problem] = []
    project, problems = _check_semantics(name, project, base, lines, warnings)
    if problems:
        raise ConfigError(problems)
    return LoadedProject(
        project=project, path=Path(path) if path else None, root=base, warnings=tuple(warnings)
    )


_BOOL_TAG, _NULL_TAG, _STR_TAG = (f"tag:yaml.org,2002:{t}" for t in ("bool", "null", "str"))


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (YAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag in (_BOOL_TAG, _NULL_TAG) and isinstance(key_node, yaml.ScalarNode):
                # YAML 1.1 reads ON:, No: or ~: as booleans or null; as a key, a variable or
                # tag name, the text written is what was meant.
                key_node.tag = _STR_TAG
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None,
                    f"key {key!r} appears twice (first on line {seen[key]})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_TYPED_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "timestamp"))


def _environment_as_written(node: yaml.Node | None, data: Any) -> None:
    """Unquoted environment values as the text written: Lambda's values are strings, and
    YAML 1.1 would turn 3.10 into 3.1, 0777 into 511, 12:30 into 750 and yes into true."""
    functions = _mapping_value(node, "functions")
    if functions is None or not isinstance(data, dict):
        return
    for name_node, function_node in functions.value:
        environment = _mapping_value(function_node, "environment")
        target = ((data.get("functions") or {}).get(str(name_node.value)) or {})
        values = target.get("environment") if isinstance(target, dict) else None
        if environment is None or not isinstance(values, dict):
            continue
        for key_node, value_node in environment.value:
            if (isinstance(value_node, yaml.ScalarNode) and value_node.style is None
                    and value_node.tag in _TYPED_TAGS):
                values[str(key_node.value)] = value_node.value


def _mapping_value(node: yaml.Node | None, key: str) -> yaml.MappingNode | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if key_node.value == key and isinstance(value_node, yaml.MappingNode):
            return value_node
    return None


def _stringify_keys(value: Any, key: str = "") -> Any:
    # YAML reads unquoted account ids (111122223333:) as integers; AWS means strings. An
    # integer of 12 digits is unambiguous; a shorter one lost its leading zeros, and is left
    # for validation to refuse with a hint to quote it.
    if isinstance(value, dict):
        return {str(k): _stringify_keys(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_keys(v, key) for v in value]
    if key in _ACCOUNT_FIELDS and type(value) is int and len(str(value)) == 12:
        return str(value)
    return value


_ACCOUNT_FIELDS = {"account", "management_account", "accounts"}


class _LineIndex:
    """Maps key paths to YAML line numbers, so errors point at the line to edit."""

    def __init__(self, node: yaml.Node | None) -> None:
        self._lines: dict[tuple[str, ...], int] = {}
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: tuple[str, ...]) -> None:
        self._lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                self._lines[child] = key.start_mark.line + 1
                self._walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, str(index)))

    def line(self, path: tuple[str, ...]) -> int | None:
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return None


def _format_path(parts: tuple[Any, ...]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _problem_from_pydantic(name: str, err: Any, lines: _LineIndex) -> Problem:
    loc = tuple(err["loc"])
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
    elif kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        choices = " or ".join(re.findall(r"'([^']*)'", expected)) or expected
        message = f"must be {choices}, got {value!r}"
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "string_pattern_mismatch":
        message = f"{_pattern_hint(loc)}, got {value!r}"
    elif kind == "string_type" and isinstance(value, int) and loc and loc[-1] == "account":
        message = f"account ids must be quoted strings in YAML (read as the number {value})"
    elif kind == "value_error":
        message = str(err["msg"]).removeprefix("Value error, ")
    else:
        message = f"{err['msg'][0].lower()}{err['msg'][1:]}, got {value!r}"
    return Problem(name, _format_path(loc), message, lines.line(tuple(str(p) for p in loc)))


def _pattern_hint(loc: tuple[Any, ...]) -> str:
    field = str(loc[-1])
    hints = {
        "id": "must be 32 characters of [a-z0-9]" if "url" in loc else "is not a valid id",
        "management_account": "must be a 12-digit account id",
        "secret": "must not be empty",
    }
    if field == "id" and "units" in loc:
        return "must look like ou-ab12-abcdefgh (ou-, 4-32 of [0-9a-z], -, 8-32 of [a-z0-9])"
    if field == "id" and "organization" in loc:
        return "must look like o-exampleorg1 (o- and 10-32 of [a-z0-9])"
    if field == "root_id":
        return "must look like r-ab12 (r- and 4-32 of [0-9a-z])"
    if field == "id" and "access_keys" in loc:
        return "must be an access key id of 16-128 characters [A-Z0-9]"
    return hints.get(field, "has the wrong format")


def _check_semantics(
    name: str, project: Project, root: Path, lines: _LineIndex, warnings: list[Problem]
) -> tuple[Project, list[Problem]]:
    problems: list[Problem] = []

    def problem(path: tuple[Any, ...], message: str, *, warning: bool = False) -> None:
        key = tuple(str(p) for p in path)
        found = Problem(name, _format_path(path), message, lines.line(key))
        (warnings if warning else problems).append(found)

    if not REGION.match(project.region):
        problem(("region",), f"is not an AWS region name, got {project.region!r}")

    org = project.organization
    if org is not None:
        _check_organization(problem, org, project)

    seen_keys: dict[str, tuple[Any, ...]] = {}
    for account_id, account_settings in project.accounts.items():
        if not ACCOUNT_ID.match(account_id):
            problem(("accounts", account_id), "account ids are 12 digits (quote them in YAML)")
        principals: list[tuple[str, str, User | Role]] = [
            *(("users", n, u) for n, u in account_settings.users.items()),
            *(("roles", n, r) for n, r in account_settings.roles.items()),
        ]
        for group, principal_name, principal in principals:
            base: tuple[Any, ...] = ("accounts", account_id, group, principal_name)
            for index, policy in enumerate(principal.policies):
                _check_policy(problem, (*base, "policies", index), policy, iam.PolicyKind.IDENTITY)
            if principal.permissions_boundary is not None:
                _check_policy(
                    problem,
                    (*base, "permissions_boundary"),
                    principal.permissions_boundary,
                    iam.PolicyKind.BOUNDARY,
                )
            if isinstance(principal, Role) and principal.trust_policy is not None:
                _check_policy(
                    problem, (*base, "trust_policy"), principal.trust_policy, iam.PolicyKind.TRUST
                )
            for index, key in enumerate(principal.access_keys):
                where = (*base, "access_keys", index, "id")
                if key.id in seen_keys:
                    problem(where, f"access key {key.id} is already used at "
                                   f"{_format_path(seen_keys[key.id])}")
                seen_keys[key.id] = where

    resolved: dict[str, Function] = {}
    roles = roles_by_arn(project)
    seen_url_ids: dict[str, str] = {}
    for function_name, function in project.functions.items():
        base = ("functions", function_name)
        if not FUNCTION_NAME.match(function_name):
            problem(base, "function names are 1-64 characters of [a-zA-Z0-9-_]")

        account = function.account
        if account is None:
            if len(project.accounts) == 1:
                account = next(iter(project.accounts))
            else:
                problem((*base, "account"), "required key is missing (the project has "
                                            f"{len(project.accounts)} accounts)")
                account = "000000000000"
        elif account not in project.accounts:
            if not ACCOUNT_ID.match(account):
                problem((*base, "account"), f"must be a 12-digit account id, got {account!r}")
            else:
                problem((*base, "account"), f"account {account} is not listed under accounts")
        region = function.region or project.region
        if function.region is not None and not REGION.match(function.region):
            problem((*base, "region"), f"is not an AWS region name, got {function.region!r}")

        reserved = sorted(k for k in function.environment if is_reserved_variable(k))
        if reserved:
            problem((*base, "environment"), "Lambda reserves these variables and refuses to "
                    f"set them: {', '.join(reserved)}")
        for variable in function.environment:
            if not ENVIRONMENT_NAME.match(variable):
                problem((*base, "environment", variable), "Lambda's variable names are a "
                        "letter then letters, digits or _ (at least 2 characters)")
        size = environment_size(function.environment)
        if size > MAX_ENVIRONMENT_BYTES:
            problem((*base, "environment"), f"the variables take {size} bytes; Lambda's limit "
                    f"is {MAX_ENVIRONMENT_BYTES} bytes, measured as their JSON")
        if function.role is not None and function.role not in roles:
            problem((*base, "role"), f"role {function.role} is not a role under accounts")
        elif function.role is not None and function.role.split(":")[4] != account:
            problem((*base, "role"), "the execution role must be in the function's account "
                                     f"({account})")
        elif function.role is not None and not _trusts_lambda(roles[function.role][2]):
            problem((*base, "role"), "the role's trust policy does not let "
                    "lambda.amazonaws.com assume it; AWS refuses such a role ('cannot be "
                    "assumed by Lambda'), fnurl uses it anyway", warning=True)
        if not function.runtime.startswith("python3."):
            problem((*base, "runtime"), f"fnurl runs handlers with the host's Python; a "
                    f"{function.runtime} handler cannot run here", warning=True)

        code_dir = root / function.code
        if code_dir.is_file():
            problem((*base, "code"), f"{code_dir} is a file; code is the directory that holds "
                                     "the handler module")
        elif not code_dir.is_dir():
            problem((*base, "code"), f"code directory {code_dir} does not exist")
        else:
            # Lambda accepts code it cannot import and fails each call instead, so a broken
            # module is a warning: the other functions serve, and an edit can fix this one.
            for message in handler_problems(code_dir, function.handler):
                problem((*base, "handler"), f"{message}; every call to this function "
                        "fails (502) until it is fixed", warning=True)

        url = function.url
        if url is not None and region in REGIONS_WITHOUT_URLS:
            problem((*base, "url"), f"AWS does not offer function URLs in {region}; this URL "
                    "works here but could not be created there", warning=True)
        if url is not None and url.public_access:
            sids = {s.get("Sid") for s in function.policy}
            for sid in (sid for sid in PUBLIC_ACCESS_SIDS if sid in sids):
                problem((*base, "url", "public_access"), f"policy already has a statement "
                        f"{sid}; it is kept, and public_access does not add its own",
                        warning=True)
        if url is not None:
            url_id = url.id or derive_url_id(account, region, function_name)
            if url_id in seen_url_ids:
                problem((*base, "url", "id"), f"url id {url_id} is already used by function "
                                              f"{seen_url_ids[url_id]}")
            seen_url_ids[url_id] = function_name
            url = url.model_copy(update={"id": url_id})

        arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        statements = [_with_resource(s, arn) for s in function.policy]
        if statements:
            _check_policy(
                problem,
                (*base, "policy"),
                {"Version": "2012-10-17", "Id": "default", "Statement": statements},
                iam.PolicyKind.RESOURCE,
            )
        resolved[function_name] = function.model_copy(
            update={"account": account, "url": url, "policy": statements}
        )

    return project.model_copy(update={"functions": resolved}), problems


def _trusts_lambda(role: Role) -> bool:
    """Whether the role's trust policy has an Allow for the Lambda service (no conditions
    are evaluated: this only catches a role that was never meant for Lambda)."""
    statements = (role.trust_policy or {}).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        if principal == "*" or "lambda.amazonaws.com" in (
                [services] if isinstance(services, str) else services):
            return True
    return False


def roles_by_arn(project: Project) -> dict[str, tuple[str, str, Role]]:
    """Every role of the project by its ARN, with its account and name."""
    return {role_arn(account_id, name, role): (account_id, name, role)
            for account_id, account in project.accounts.items()
            for name, role in account.roles.items()}


def _check_organization(problem: Any, org: Organization, project: Project) -> None:
    base: tuple[Any, ...] = ("organization",)
    for index, scp in enumerate(org.scps):
        _check_policy(problem, (*base, "scps", index), scp, iam.PolicyKind.SCP)

    placed: dict[str, str] = {}
    unit_ids: dict[str, str] = {}
    for path, names, unit in walk_units(org):
        where = (*base, *path)
        if not 1 <= len(names[-1]) <= 128 or "/" in names[-1]:
            problem(where, "organizational unit names are 1-128 characters without '/'")
        if unit.id is not None:
            if unit.id in unit_ids:
                problem((*where, "id"), f"id {unit.id} is already used by unit "
                                        f"{unit_ids[unit.id]}")
            unit_ids[unit.id] = "/".join(names)
        for index, scp in enumerate(unit.scps):
            _check_policy(problem, (*where, "scps", index), scp, iam.PolicyKind.SCP)
        for index, account in enumerate(unit.accounts):
            if account not in project.accounts:
                problem((*where, "accounts", index), f"account {account!r} is not listed under "
                                                     "accounts")
            elif account in placed:
                problem((*where, "accounts", index), f"account {account} is already in unit "
                                                     f"{placed[account]}")
            placed[account] = "/".join(names)

    for account, scps in org.account_scps.items():
        where = (*base, "account_scps", account)
        if account not in project.accounts:
            problem(where, f"account {account!r} is not listed under accounts")
        elif account == org.management_account:
            problem(where, "SCPs do not apply to the management account", warning=True)
        for index, scp in enumerate(scps):
            _check_policy(problem, (*where, index), scp, iam.PolicyKind.SCP)


def walk_units(
    org: Organization,
) -> Iterator[tuple[tuple[str, ...], tuple[str, ...], OrganizationalUnit]]:
    """Every organizational unit, parents first: its key path, its names from the root, it."""
    stack: list[tuple[tuple[str, ...], tuple[str, ...], OrganizationalUnit]] = [
        (("units", name), (name,), unit) for name, unit in reversed(org.units.items())
    ]
    while stack:
        path, names, unit = stack.pop()
        yield path, names, unit
        stack += [
            ((*path, "units", name), (*names, name), child)
            for name, child in reversed(unit.units.items())
        ]


def _with_resource(statement: dict[str, Any], arn: str) -> dict[str, Any]:
    # A statement written in the project file may leave out Resource: it can only mean this
    # function, which is what AddPermission would have filled in.
    if "Resource" in statement or "NotResource" in statement:
        return statement
    return {**statement, "Resource": arn}


def _check_policy(problem: Any, path: tuple[Any, ...], document: Any, kind: iam.PolicyKind) -> None:
    try:
        policy = iam.parse_policy(document, kind, name=_format_path(path))
    except iam.PolicyError as exc:
        # The parser stops at the first problem; statement by statement, every broken
        # statement is named at once, so a file is fixed in one round, not one per mistake.
        found = _statement_problems(path, document, kind)
        for element, message in found or [_policy_error(exc)]:
            problem(_policy_location(path, element, kind), message)
        return
    for warning in policy.warnings:
        element, _, message = warning.partition(": ")
        problem(_policy_location(path, element, kind), message, warning=True)


def _policy_error(exc: iam.PolicyError) -> tuple[str, str]:
    return str(getattr(exc, "element", "") or ""), str(getattr(exc, "message", "") or exc)


def _statement_problems(
    path: tuple[Any, ...], document: Any, kind: iam.PolicyKind
) -> list[tuple[str, str]]:
    statements = document.get("Statement") if isinstance(document, dict) else None
    if not isinstance(statements, list) or len(statements) < 2:
        return []
    found: list[tuple[str, str]] = []
    for index, statement in enumerate(statements):
        try:
            iam.parse_policy({**document, "Statement": [statement]}, kind,
                             name=_format_path(path))
        except iam.PolicyError as exc:
            element, message = _policy_error(exc)
            found.append((element.replace("Statement[0]", f"Statement[{index}]", 1), message))
    if found:
        # A Sid used twice is a problem of the document, not of either statement.
        seen: set[Any] = set()
        for index, statement in enumerate(statements):
            sid = statement.get("Sid") if isinstance(statement, dict) else None
            if isinstance(sid, str) and sid and sid in seen:
                found.append((f"Statement[{index}].Sid", f"{DUPLICATE_SID} {sid!r} repeats."))
            seen.add(sid)
    # Empty when each statement is fine alone (a Sid used twice): the whole document's error.
    return found


def _policy_location(path: tuple[Any, ...], element: str, kind: iam.PolicyKind) -> tuple[Any, ...]:
    # "Statement[2].Condition.Bool" -> ("Statement", 2, "Condition", "Bool")
    parts: list[Any] = []
    for part in filter(None, element.split(".")):
        match = re.fullmatch(r"(.*?)\[(\d+)\]", part)
        if match:
            parts += [*filter(None, [match.group(1)]), int(match.group(2))]
        else:
            parts.append(part)
    if kind is iam.PolicyKind.RESOURCE:
        # The file lists bare statements; point at the statement, not the wrapper document.
        if parts[:1] == ["Statement"] and len(parts) > 1 and isinstance(parts[1], int):
            return (*path, *parts[1:])
        return path
    return (*path, *parts)


def handler_problems(code_dir: Path, handler: str) -> Iterator[str]:
    """Say what is wrong with a handler string without running the handler's code."""
    if not code_dir.is_dir():
        yield f"code directory {code_dir} does not exist"
        return
    module_path, _, attribute = handler.rpartition(".")
    if not module_path:
        return
    relative = module_path.replace(".", "/")
    candidates = [code_dir / f"{relative}.py", code_dir / relative / "__init__.py"]
    source_file = next((c for c in candidates if c.is_file()), None)
    if source_file is None:
        searched = ", ".join(str(c) for c in candidates)
        yield f"module {module_path!r} not found (searched {searched})"
        return
    try:
        tree = ast.parse(source_file.read_bytes(), filename=str(source_file))
    except SyntaxError as exc:
        yield f"{source_file}:{exc.lineno}: syntax error: {exc.msg}"
        return
    if attribute not in _top_level_names(tree) and not _has_dynamic_names(tree):
        yield f"module {module_path!r} ({source_file}) has no function {attribute!r}"


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(statement, ast.AnnAssign | ast.AugAssign) and isinstance(
            statement.target, ast.Name
        ):
            names.add(statement.target.id)
        elif isinstance(statement, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in statement.names)
        elif isinstance(statement, ast.If | ast.Try | ast.With):
            nested = [s for s in ast.iter_child_nodes(statement) if isinstance(s, ast.stmt)]
            names |= _top_level_names(ast.Module(body=nested, type_ignores=[]))
    return names


def _has_dynamic_names(tree: ast.Module) -> bool:
    # Star imports, module __getattr__ and globals() writes can define names we cannot see.
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return True
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            return True
        if isinstance(node, ast.Name) and node.id == "globals":
            return True
    return False
