"""Principals: who is calling, and how the ``Principal`` element of a policy matches them.

Matching follows the IAM principal table: ``"*"`` is everyone (anonymous callers included); an
account id or ``:root`` ARN covers every principal of the account, but in an Allow it is only a
delegation to the account's own IAM policies; a role ARN matches every session of the role by
account and role name, because session ARNs omit the role path; a session ARN matches that one
session. There are no partial wildcards in principals, so a value such as ``role/*`` never
matches.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from fnurl.iam.arn import Arn
from fnurl.iam.errors import SYNTAX_ERROR, PolicyError

USER = "User"
ASSUMED_ROLE = "AssumedRole"
FEDERATED_USER = "FederatedUser"
ACCOUNT = "Account"
SERVICE = "Service"
ANONYMOUS = "Anonymous"

_ACCOUNT_ID = re.compile(r"\d{12}")
_SERVICE_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?", re.IGNORECASE)
PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")


@dataclass(frozen=True)
class Principal:
    """The caller of one request.

    ``arn`` is None for anonymous callers; for a service principal it is the service name
    (``s3.amazonaws.com``). ``source_user_arn`` is the IAM user behind an STS federated-user
    session (GetFederationToken), when known.
    """

    arn: str | None
    account: str | None
    type: str
    source_user_arn: str | None = None

    @classmethod
    def from_arn(cls, arn: str | None, account: str | None = None) -> Principal:
        """Classify a caller from its ARN.

        Accepts None (anonymous), a service name, ``arn:…:iam::A:user/…``, ``arn:…:iam::A:root``
        (or a bare account id, meaning the root user), ``arn:…:sts::A:assumed-role/R/S`` and
        ``arn:…:sts::A:federated-user/N``. Raises ValueError for anything else.
        """
        if arn is None:
            return cls(None, None, ANONYMOUS)

        if _SERVICE_NAME.fullmatch(arn):
            return cls(arn, account, SERVICE)

        if _ACCOUNT_ID.fullmatch(arn):
            return cls(f"arn:aws:iam::{arn}:root", arn, ACCOUNT)

        parsed = Arn.parse(arn)
        caller_type = _caller_type(parsed) if parsed else None
        if parsed is None or caller_type is None:
            msg = (
                f"cannot tell what kind of caller {arn!r} is; expected an IAM user, root, "
                "sts assumed-role or federated-user ARN, or a service name such as "
                "'s3.amazonaws.com'"
            )
            raise ValueError(msg)

        return cls(arn, account or parsed.account, caller_type)

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(None, None, ANONYMOUS)

    @property
    def is_anonymous(self) -> bool:
        return self.type == ANONYMOUS

    @property
    def is_service(self) -> bool:
        return self.type == SERVICE

    @property
    def is_root(self) -> bool:
        return self.type == ACCOUNT

    @cached_property
    def _arn(self) -> Arn | None:
        return Arn.parse(self.arn) if self.arn else None

    @property
    def partition(self) -> str | None:
        return self._arn.partition if self._arn else None

    @property
    def user_name(self) -> str | None:
        """The IAM user name (last part of the user ARN, after any path)."""
        if self.type != USER or self._arn is None:
            return None

        return self._arn.resource.rsplit("/", 1)[-1]

    @property
    def role_name(self) -> str | None:
        if self.type != ASSUMED_ROLE or self._arn is None:
            return None

        return self._arn.resource.split("/")[1]

    @property
    def session_name(self) -> str | None:
        if self.type != ASSUMED_ROLE or self._arn is None:
            return None

        return self._arn.resource.split("/", 2)[2]

    @property
    def role_arn(self) -> str | None:
        """The role a session belongs to, as ``arn:…:iam::A:role/NAME``.

        A session ARN does not carry the role's path, so this ARN has none either; policies
        naming a role with a path still match, because roles are matched by account and name.
        """
        if self.role_name is None or self._arn is None:
            return None

        return f"arn:{self._arn.partition}:iam::{self._arn.account}:role/{self.role_name}"


class PrincipalMatch(enum.Enum):
    """How a statement's principal test matched the caller.

    The difference matters in one place: which implicit denies a same-account resource-policy
    grant can override (a user or session named directly, or ``"*"``, bypass the permissions
    boundary; a role ARN does not; an account never grants on its own).
    """

    NO_PRINCIPAL_ELEMENT = "the statement has no Principal element"
    WILDCARD = 'any principal ("*")'
    ACCOUNT = "the caller's account (a delegation to its IAM policies)"
    USER = "this IAM user"
    SOURCE_USER = "the IAM user behind this federated session"
    ROLE = "the role of this session"
    SESSION = "this session"
    SERVICE = "this service principal"
    NOT_PRINCIPAL = "everyone not listed in NotPrincipal"


class _EntryKind(enum.Enum):
    WILDCARD = enum.auto()
    ACCOUNT = enum.auto()
    USER = enum.auto()
    ROLE = enum.auto()
    SESSION = enum.auto()
    SERVICE = enum.auto()
    NEVER = enum.auto()


@dataclass(frozen=True)
class PrincipalEntry:
    """One value of a Principal element, classified once at parse time."""

    kind: _EntryKind
    value: str
    account: str = ""
    name: str = ""

    def match(self, principal: Principal) -> PrincipalMatch | None:
        kind = self.kind
        if kind is _EntryKind.WILDCARD:
            return PrincipalMatch.WILDCARD

        if principal.is_anonymous or kind is _EntryKind.NEVER:
            return None

        if kind is _EntryKind.SERVICE:
            is_it = principal.is_service and (principal.arn or "").lower() == self.value
            return PrincipalMatch.SERVICE if is_it else None

        if principal.is_service:
            return None

        if kind is _EntryKind.ACCOUNT:
            return PrincipalMatch.ACCOUNT if principal.account == self.account else None

        if kind is _EntryKind.SESSION:
            return PrincipalMatch.SESSION if principal.arn == self.value else None

        if kind is _EntryKind.ROLE:
            same_role = principal.account == self.account and principal.role_name == self.name
            return PrincipalMatch.ROLE if same_role else None

        if principal.type == USER and principal.arn == self.value:
            return PrincipalMatch.USER

        if principal.type == FEDERATED_USER and principal.source_user_arn == self.value:
            return PrincipalMatch.SOURCE_USER

        return None


# When several values of one Principal element match, the one that overrides the most implicit
# denies describes the grant.
_STRENGTH = {
    PrincipalMatch.WILDCARD: 6,
    PrincipalMatch.SESSION: 6,
    PrincipalMatch.SERVICE: 5,
    PrincipalMatch.USER: 4,
    PrincipalMatch.ROLE: 3,
    PrincipalMatch.SOURCE_USER: 3,
    PrincipalMatch.ACCOUNT: 1,
}


@dataclass(frozen=True)
class PrincipalSet:
    """A whole Principal or NotPrincipal element; its values are ORed."""

    entries: tuple[PrincipalEntry, ...]
    warnings: tuple[str, ...] = ()

    def match(self, principal: Principal) -> PrincipalMatch | None:
        """The strongest way any value matches the caller, or None."""
        best: PrincipalMatch | None = None
        for entry in self.entries:
            found = entry.match(principal)
            if found is not None and (best is None or _STRENGTH[found] > _STRENGTH[best]):
                best = found

        return best

    @property
    def is_wildcard(self) -> bool:
        return any(entry.kind is _EntryKind.WILDCARD for entry in self.entries)


def parse_principal_element(value: object, *, element: str) -> PrincipalSet:
    """Compile a Principal/NotPrincipal value: ``"*"`` or a map of principal types to values."""
    if value == "*":
        return PrincipalSet((PrincipalEntry(_EntryKind.WILDCARD, "*"),))

    if not isinstance(value, dict) or not value:
        detail = 'must be "*" or a map such as {"AWS": "arn:aws:iam::123456789012:root"}.'
        raise PolicyError(element, SYNTAX_ERROR, detail)

    entries: list[PrincipalEntry] = []
    warnings: list[str] = []
    for principal_type, raw in value.items():
        path = f"{element}.{principal_type}"
        if principal_type not in PRINCIPAL_TYPES:
            detail = f"unknown principal type {principal_type!r}; use one of {PRINCIPAL_TYPES}."
            raise PolicyError(path, SYNTAX_ERROR, detail)

        for text in _string_list(raw, element=path):
            entry = _entry(principal_type, text)
            if entry.kind is _EntryKind.NEVER and principal_type == "AWS":
                warnings.append(f"{path}: {text!r} is not a valid principal and never matches")

            entries.append(entry)

    return PrincipalSet(tuple(entries), tuple(warnings))


def _entry(principal_type: str, text: str) -> PrincipalEntry:
    if principal_type == "Service":
        return PrincipalEntry(_EntryKind.SERVICE, text.lower())

    if principal_type != "AWS":
        # Federated identities act only through role trust policies and CanonicalUser is S3's;
        # neither can be the caller of a request evaluated here.
        return PrincipalEntry(_EntryKind.NEVER, text)

    if text == "*":
        return PrincipalEntry(_EntryKind.WILDCARD, text)

    if "*" in text or "?" in text:
        return PrincipalEntry(_EntryKind.NEVER, text)

    if _ACCOUNT_ID.fullmatch(text):
        return PrincipalEntry(_EntryKind.ACCOUNT, text, account=text)

    return _arn_entry(text)


def _arn_entry(text: str) -> PrincipalEntry:
    arn = Arn.parse(text)
    if arn is None or not _ACCOUNT_ID.fullmatch(arn.account):
        return PrincipalEntry(_EntryKind.NEVER, text)

    resource = arn.resource
    if arn.service == "iam" and resource == "root":
        return PrincipalEntry(_EntryKind.ACCOUNT, text, account=arn.account)

    if arn.service == "iam" and resource.startswith("user/"):
        return PrincipalEntry(_EntryKind.USER, text, account=arn.account)

    if arn.service == "iam" and resource.startswith("role/"):
        name = resource.rsplit("/", 1)[-1]
        return PrincipalEntry(_EntryKind.ROLE, text, account=arn.account, name=name)

    is_session = resource.startswith("federated-user/") or (
        resource.startswith("assumed-role/") and resource.count("/") >= 2
    )
    if arn.service == "sts" and is_session:
        return PrincipalEntry(_EntryKind.SESSION, text, account=arn.account)

    return PrincipalEntry(_EntryKind.NEVER, text)


def _caller_type(arn: Arn) -> str | None:
    resource = arn.resource
    if not _ACCOUNT_ID.fullmatch(arn.account):
        return None

    if arn.service == "iam" and resource == "root":
        return ACCOUNT

    if arn.service == "iam" and resource.startswith("user/") and len(resource) > 5:
        return USER

    if arn.service == "sts" and resource.startswith("assumed-role/") and resource.count("/") >= 2:
        return ASSUMED_ROLE

    if arn.service == "sts" and resource.startswith("federated-user/") and len(resource) > 15:
        return FEDERATED_USER

    return None


def _string_list(raw: object, *, element: str) -> Sequence[str]:
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not values:
        raise PolicyError(element, SYNTAX_ERROR, "must be a string or a non-empty list of strings.")

    strings: list[str] = []
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise PolicyError(f"{element}[{index}]", SYNTAX_ERROR, "must be a string.")

        strings.append(value)

    return strings
