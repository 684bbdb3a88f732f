"""What exists: principals with their keys and policies, functions with their URLs.

Built once from a validated project file. Policies are parsed and compiled here, so the
request path only looks things up. The control plane (later) changes this state through
the same types, backed by the store.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fnurl import iam
from fnurl.config import (
    PUBLIC_ACCESS_SIDS,
    Cors,
    LoadedProject,
    Organization,
    OrganizationalUnit,
    role_arn,
)
from fnurl.sigv4 import Credential

AuthType = Literal["NONE", "AWS_IAM"]

# The two statements the console (and SAM/CDK) add when a NONE URL is made public.


def unique_id(prefix: str, *parts: str) -> str:
    """A stable IAM-style unique id (AIDA..., AROA...) of 21 characters."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return prefix + "".join(alphabet[b % 32] for b in digest[:17])


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: an IAM user, or a session of a role."""

    principal: iam.Principal
    account: str
    name: str                       # user name, or role name for sessions
    user_id: str                    # aws:userid (AIDA..., or AROA...:session)
    policies: tuple[iam.Policy, ...]
    boundary: iam.Policy | None
    tags: Mapping[str, str]
    role_arn: str | None = None     # for sessions: aws:PrincipalArn
    session_policy: iam.Policy | None = None   # the Policy passed to AssumeRole, if any

    @property
    def arn(self) -> str:
        assert self.principal.arn is not None
        return self.principal.arn

    @property
    def principal_arn(self) -> str:
        return self.role_arn or self.arn


@dataclass(frozen=True)
class KeyHolder:
    credential: Credential
    identity: Identity
    expires_at: float | None = None   # epoch seconds, for temporary credentials


@dataclass(frozen=True)
class FunctionUrl:
    url_id: str
    auth_type: AuthType
    invoke_mode: str
    cors: Cors | None
    qualifier: str | None = None


@dataclass(frozen=True)
class LambdaFunction:
    name: str
    account: str
    region: str
    handler: str
    code_dir: Path
    runtime: str
    environment: Mapping[str, str]
    timeout: int
    memory: int
    reserved_concurrency: int | None
    url: FunctionUrl | None
    resource_policy: iam.Policy | None
    policy_document: Mapping[str, Any] | None
    tags: Mapping[str, str] = field(default_factory=dict)
    qualifier: str | None = None    # the alias, for the copy that serves an alias's URL
    role: str | None = None         # the execution role's ARN: its session is the handler's

    @property
    def arn(self) -> str:
        base = f"arn:aws:lambda:{self.region}:{self.account}:function:{self.name}"
        return f"{base}:{self.qualifier}" if self.qualifier else base


@dataclass(frozen=True)
class AccountSettings:
    account_id: str
    legacy_url_permissions: bool
    scps: tuple[iam.ScpLevel, ...]       # empty when the account is not governed by SCPs
    org_id: str | None
    org_path: str | None = None          # "o-.../r-.../ou-.../": aws:PrincipalOrgPaths


@dataclass
class Registry:
    accounts: dict[str, AccountSettings]
    keys: dict[str, KeyHolder]
    functions: dict[str, LambdaFunction]
    urls: dict[str, LambdaFunction]
    region: str
    demo: bool = False
    principals: dict[str, Identity] = field(default_factory=dict)   # by ARN, keys or not
    secure_transport: bool = True

    def credential(self, access_key_id: str) -> Credential | None:
        holder = self.keys.get(access_key_id)
        if holder is None:
            return None
        if holder.expires_at is not None and holder.expires_at <= time.time():
            return None
        return holder.credential

    def identity(self, access_key_id: str) -> Identity | None:
        holder = self.keys.get(access_key_id)
        return holder.identity if holder else None

    def url(self, url_id: str) -> LambdaFunction | None:
        return self.urls.get(url_id)

    def principal(self, arn: str) -> Identity | None:
        """The caller an ARN names, for `fnurl explain`.

        A user ARN, a role ARN (its `fnurl` session), any session ARN of a role, or the root
        user of a listed account; None if the project has no such principal.
        """
        if arn in self.principals:
            return self.principals[arn]

        for identity in self.principals.values():
            if identity.role_arn == arn:
                return identity

        try:
            wanted = iam.Principal.from_arn(arn)
        except ValueError:
            return None

        if wanted.is_root and wanted.account in self.accounts:
            assert wanted.account is not None
            return Identity(wanted, wanted.account, "root", wanted.account, (), None, {})

        for identity in self.principals.values():
            role = identity.principal
            same_role = wanted.role_name is not None and role.role_name == wanted.role_name
            if same_role and role.account == wanted.account:
                role_id = identity.user_id.partition(":")[0]
                session = f"{role_id}:{wanted.session_name}"
                return dataclasses.replace(identity, principal=wanted, user_id=session)

        return None


def public_access_statements(function_arn: str) -> list[dict[str, Any]]:
    return [
        {
            "Sid": PUBLIC_ACCESS_SIDS[0],
            "Effect": "Allow",
            "Principal": "*",
            "Action": "lambda:InvokeFunctionUrl",
            "Resource": function_arn,
            "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
        },
        {
            "Sid": PUBLIC_ACCESS_SIDS[1],
            "Effect": "Allow",
            "Principal": "*",
            "Action": "lambda:InvokeFunction",
            "Resource": function_arn,
            "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
        },
    ]


def build(loaded: LoadedProject, *, demo: bool = False) -> Registry:
    """Resolve a validated project into principals, keys, functions and URLs."""
    project = loaded.project
    org = project.organization

    placement = _org_placement(org) if org is not None else {}
    accounts: dict[str, AccountSettings] = {}
    keys: dict[str, KeyHolder] = {}
    principals: dict[str, Identity] = {}
    for account_id, account in project.accounts.items():
        levels: tuple[iam.ScpLevel, ...] = ()
        org_path = None
        if org is not None:
            # Accounts in no unit sit directly under the root.
            levels, org_path = placement.get(account_id, placement[""])
            where = f"organization.account_scps.{account_id}"
            own = org.account_scps.get(account_id, [])
            levels = (*levels, *_scp_level(f"account {account_id}", own, where))
            if account_id == org.management_account:
                levels = ()

        accounts[account_id] = AccountSettings(
            account_id=account_id,
            legacy_url_permissions=account.legacy_url_permissions,
            scps=levels,
            org_id=org.id if org is not None else None,
            org_path=org_path,
        )

        for user_name, user in account.users.items():
            arn = f"arn:aws:iam::{account_id}:user{user.path}{user_name}"
            identity = Identity(
                principal=iam.Principal.from_arn(arn, account_id),
                account=account_id,
                name=user_name,
                user_id=unique_id("AIDA", account_id, "user", user_name),
                policies=_identity_policies(user.policies, f"user {user_name}"),
                boundary=_boundary(user.permissions_boundary, f"user {user_name}"),
                tags=dict(user.tags),
            )
            principals[arn] = identity
            for key in user.access_keys:
                keys[key.id] = KeyHolder(Credential(key.id, key.secret), identity)

        for role_name, role in account.roles.items():
            # Long-lived keys on a role stand for a session named "fnurl", as if the holder had
            # called AssumeRole once; the session ARN drops the role's path, as AWS's does.
            session_arn = f"arn:aws:sts::{account_id}:assumed-role/{role_name}/fnurl"
            role_id = unique_id("AROA", account_id, "role", role_name)
            identity = Identity(
                principal=iam.Principal.from_arn(session_arn, account_id),
                account=account_id,
                name=role_name,
                user_id=f"{role_id}:fnurl",
                policies=_identity_policies(role.policies, f"role {role_name}"),
                boundary=_boundary(role.permissions_boundary, f"role {role_name}"),
                tags=dict(role.tags),
                role_arn=role_arn(account_id, role_name, role),
            )
            principals[session_arn] = identity
            for key in role.access_keys:
                keys[key.id] = KeyHolder(Credential(key.id, key.secret), identity)

    functions: dict[str, LambdaFunction] = {}
    urls: dict[str, LambdaFunction] = {}
    for name, spec in project.functions.items():
        account_id = loaded.account_of(spec)
        region = loaded.region_of(spec)
        arn = f"arn:aws:lambda:{region}:{account_id}:function:{name}"

        statements = list(spec.policy)
        if spec.url is not None and spec.url.public_access:
            existing = {s.get("Sid") for s in statements}
            statements += [s for s in public_access_statements(arn) if s["Sid"] not in existing]
        document: dict[str, Any] | None = None
        policy: iam.Policy | None = None
        if statements:
            document = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
            policy = iam.parse_policy(
                document, iam.PolicyKind.RESOURCE, name=f"resource policy of {name}"
            )

        url: FunctionUrl | None = None
        if spec.url is not None:
            assert spec.url.id is not None  # derived by config.load
            url = FunctionUrl(
                url_id=spec.url.id,
                auth_type=spec.url.auth_type,
                invoke_mode=spec.url.invoke_mode,
                cors=spec.url.cors,
            )

        function = LambdaFunction(
            name=name,
            account=account_id,
            region=region,
            handler=spec.handler,
            code_dir=loaded.code_dir(spec),
            runtime=spec.runtime,
            environment=dict(spec.environment),
            timeout=spec.timeout,
            memory=spec.memory,
            reserved_concurrency=spec.reserved_concurrency,
            url=url,
            resource_policy=policy,
            policy_document=document,
            tags=dict(spec.tags),
            role=spec.role,
        )
        functions[name] = function
        if url is not None:
            urls[url.url_id] = function

    return Registry(
        accounts=accounts,
        keys=keys,
        functions=functions,
        urls=urls,
        region=project.region,
        demo=demo,
        principals=principals,
        secure_transport=project.secure_transport,
    )


Placement = tuple[tuple[iam.ScpLevel, ...], str]


def _org_placement(org: Organization) -> dict[str, Placement]:
    """SCP levels (root, then each unit) and org path of every account placed in a unit;
    the key "" holds the root's, for accounts directly under it."""
    root_id = org.root_id or f"r-{_id_part(org.id, length=4)}"
    root = (_scp_level(f"root {root_id}", org.scps, "organization.scps"), f"{org.id}/{root_id}/")
    placement: dict[str, Placement] = {"": root}
    _place_units(org, org.units, root, "organization", root_id.removeprefix("r-"), placement)
    return placement


def _place_units(
    org: Organization,
    units: Mapping[str, OrganizationalUnit],
    parent: Placement,
    where: str,
    root_suffix: str,
    placement: dict[str, Placement],
) -> None:
    for name, unit in units.items():
        unit_where = f"{where}.units.{name}"
        unit_id = unit.id or f"ou-{root_suffix}-{_id_part(org.id, unit_where, length=8)}"
        level = _scp_level(f"OU {name} ({unit_id})", unit.scps, f"{unit_where}.scps")
        here = ((*parent[0], *level), f"{parent[1]}{unit_id}/")
        for account_id in unit.accounts:
            placement[account_id] = here
        _place_units(org, unit.units, here, unit_where, root_suffix, placement)


def _scp_level(target: str, documents: Sequence[Any], where: str) -> tuple[iam.ScpLevel, ...]:
    # AWS attaches FullAWSAccess to every new root, unit and account; a level the project
    # file gives no SCPs keeps it, and a level that only allows everything need not be
    # evaluated.
    if not documents:
        return ()

    policies = tuple(
        iam.parse_policy(doc, iam.PolicyKind.SCP, name=f"{where}[{index}]")
        for index, doc in enumerate(documents)
    )
    return (iam.ScpLevel(target=target, policies=policies),)


def _id_part(*parts: str, length: int) -> str:
    """Stable [a-z2-7] characters for ids the project file leaves out (roots, units)."""
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return base64.b32encode(digest).decode().lower()[:length]


def _identity_policies(documents: Sequence[Any], owner: str) -> tuple[iam.Policy, ...]:
    return tuple(
        iam.parse_policy(doc, iam.PolicyKind.IDENTITY, name=f"identity policy {index} of {owner}")
        for index, doc in enumerate(documents)
    )


def _boundary(document: Any, owner: str) -> iam.Policy | None:
    if document is None:
        return None
    name = f"permissions boundary of {owner}"
    return iam.parse_policy(document, iam.PolicyKind.BOUNDARY, name=name)
