"""Principals: classifying callers and matching the Principal element (spec section 2)."""

from __future__ import annotations

from typing import Any

import pytest

from fnurl.iam import PolicyKind, Principal, PrincipalMatch, parse_policy

ALICE = "arn:aws:iam::111122223333:user/alice"
SESSION = "arn:aws:sts::111122223333:assumed-role/app-role/sess-1"


@pytest.mark.parametrize(
    ("arn", "kind", "account"),
    [
        (None, "Anonymous", None),
        ("s3.amazonaws.com", "Service", None),
        (ALICE, "User", "111122223333"),
        ("arn:aws:iam::111122223333:user/division/alice", "User", "111122223333"),
        ("arn:aws:iam::111122223333:root", "Account", "111122223333"),
        ("111122223333", "Account", "111122223333"),
        (SESSION, "AssumedRole", "111122223333"),
        ("arn:aws:sts::111122223333:federated-user/carol", "FederatedUser", "111122223333"),
    ],
)
def test_from_arn(arn: str | None, kind: str, account: str | None) -> None:
    principal = Principal.from_arn(arn)

    assert principal.type == kind
    assert principal.account == account


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::111122223333:role/app-role",
        "arn:aws:iam::111122223333:group/devs",
        "arn:aws:sts::111122223333:assumed-role/app-role",
        "arn:aws:iam::nope:user/alice",
        "alice",
    ],
)
def test_from_arn_rejects_non_callers(arn: str) -> None:
    with pytest.raises(ValueError, match="kind of caller"):
        Principal.from_arn(arn)


def test_session_properties() -> None:
    principal = Principal.from_arn(SESSION)

    assert principal.role_name == "app-role"
    assert principal.session_name == "sess-1"
    assert principal.role_arn == "arn:aws:iam::111122223333:role/app-role"
    assert principal.partition == "aws"
    assert principal.user_name is None


def test_user_and_special_properties() -> None:
    assert Principal.from_arn("arn:aws:iam::111122223333:user/ops/alice").user_name == "alice"
    assert Principal.from_arn(None).is_anonymous
    assert Principal.from_arn("lambda.amazonaws.com").is_service
    assert Principal.from_arn("arn:aws:iam::111122223333:root").is_root
    assert Principal.from_arn(ALICE, "999999999999").account == "999999999999"


def match(principal_element: Any, caller: Principal) -> PrincipalMatch | None:
    policy = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": principal_element, "Action": "*", "Resource": "*"},
            ],
        },
        PolicyKind.RESOURCE,
    )
    return policy.statements[0].matches_principal(caller, has_boundary=False)


FEDERATED = Principal(
    "arn:aws:sts::111122223333:federated-user/carol",
    "111122223333",
    "FederatedUser",
    source_user_arn=ALICE,
)


@pytest.mark.parametrize(
    ("element", "caller", "expected"),
    [
        ("*", Principal.from_arn(None), PrincipalMatch.WILDCARD),
        ({"AWS": "*"}, Principal.from_arn(None), PrincipalMatch.WILDCARD),
        ({"AWS": "*"}, Principal.from_arn("s3.amazonaws.com"), PrincipalMatch.WILDCARD),
        ({"AWS": "111122223333"}, Principal.from_arn(None), None),
        ({"AWS": "111122223333"}, Principal.from_arn(ALICE), PrincipalMatch.ACCOUNT),
        (
            {"AWS": "arn:aws:iam::111122223333:root"},
            Principal.from_arn(SESSION),
            PrincipalMatch.ACCOUNT,
        ),
        (
            {"AWS": "111122223333"},
            Principal.from_arn("arn:aws:iam::111122223333:root"),
            PrincipalMatch.ACCOUNT,
        ),
        ({"AWS": "444455556666"}, Principal.from_arn(ALICE), None),
        ({"AWS": ALICE}, Principal.from_arn(ALICE), PrincipalMatch.USER),
        ({"AWS": "arn:aws:iam::111122223333:user/Alice"}, Principal.from_arn(ALICE), None),
        ({"AWS": "arn:aws:iam::111122223333:user/ops/alice"}, Principal.from_arn(ALICE), None),
        ({"AWS": ALICE}, FEDERATED, PrincipalMatch.SOURCE_USER),
        ({"AWS": FEDERATED.arn}, FEDERATED, PrincipalMatch.SESSION),
        (
            {"AWS": "arn:aws:iam::111122223333:role/app-role"},
            Principal.from_arn(SESSION),
            PrincipalMatch.ROLE,
        ),
        (
            {"AWS": "arn:aws:iam::111122223333:role/service/app-role"},
            Principal.from_arn(SESSION),
            PrincipalMatch.ROLE,
        ),
        ({"AWS": "arn:aws:iam::444455556666:role/app-role"}, Principal.from_arn(SESSION), None),
        ({"AWS": SESSION}, Principal.from_arn(SESSION), PrincipalMatch.SESSION),
        ({"AWS": SESSION[:-1] + "2"}, Principal.from_arn(SESSION), None),
        ({"AWS": "arn:aws:iam::111122223333:role/*"}, Principal.from_arn(SESSION), None),
        ({"AWS": "arn:aws:iam::*:root"}, Principal.from_arn(ALICE), None),
        ({"AWS": "1111222233*"}, Principal.from_arn(ALICE), None),
        (
            {"Service": "s3.amazonaws.com"},
            Principal.from_arn("s3.amazonaws.com"),
            PrincipalMatch.SERVICE,
        ),
        (
            {"Service": "S3.amazonaws.com"},
            Principal.from_arn("s3.amazonaws.com"),
            PrincipalMatch.SERVICE,
        ),
        ({"Service": "s3.amazonaws.com"}, Principal.from_arn("sns.amazonaws.com"), None),
        ({"AWS": "111122223333"}, Principal.from_arn("s3.amazonaws.com"), None),
        ({"Federated": "cognito-identity.amazonaws.com"}, Principal.from_arn(SESSION), None),
        ({"CanonicalUser": "79a59df900b949e55d96a1e698fbaced"}, Principal.from_arn(ALICE), None),
        ({"AWS": ["444455556666", ALICE]}, Principal.from_arn(ALICE), PrincipalMatch.USER),
        ({"AWS": [ALICE, "*"]}, Principal.from_arn(ALICE), PrincipalMatch.WILDCARD),
    ],
)
def test_principal_matching(
    element: Any, caller: Principal, expected: PrincipalMatch | None
) -> None:
    assert match(element, caller) is expected


def not_principal_applies(listed: Any, caller: Principal, *, has_boundary: bool) -> bool:
    policy = parse_policy(
        {
            "Statement": [
                {"Effect": "Deny", "NotPrincipal": listed, "Action": "*", "Resource": "*"},
            ],
        },
        PolicyKind.RESOURCE,
    )
    found = policy.statements[0].matches_principal(caller, has_boundary=has_boundary)
    return found is PrincipalMatch.NOT_PRINCIPAL


def test_not_principal_excludes_listed_callers_unless_they_have_a_boundary() -> None:
    listed = {"AWS": [ALICE, "arn:aws:iam::111122223333:root"]}
    alice = Principal.from_arn(ALICE)

    assert not not_principal_applies(listed, alice, has_boundary=False)
    assert not_principal_applies(listed, alice, has_boundary=True)
    assert not_principal_applies(
        listed, Principal.from_arn("arn:aws:iam::444455556666:user/b"), has_boundary=False
    )


def test_not_principal_role_excludes_its_sessions_and_never_anonymous() -> None:
    listed = {"AWS": "arn:aws:iam::111122223333:role/app-role"}

    assert not not_principal_applies(listed, Principal.from_arn(SESSION), has_boundary=False)
    assert not_principal_applies(listed, Principal.from_arn(None), has_boundary=False)
