"""Every worked case of the shared IAM case file, evaluated by the engine.

The file lives in the shared workspace next to the repository (``/work/shared``); set
``FNURL_SHARED`` to point somewhere else.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from fnurl.iam import (
    AuthorizationRequest,
    PolicyKind,
    PolicySet,
    Principal,
    ScpLevel,
    evaluate,
    parse_policy,
)
from tests.servers import SHARED

CASES_FILE = SHARED / "cases" / "iam" / "cases.jsonl"

# Cases about what happens before the evaluator runs; the gateway's tests cover them.
PRE_EVALUATION = {
    "AUTH-001": "unsigned request to an AWS_IAM URL is rejected before any policy is evaluated; "
    "covered by the gateway integration tests (tests/integration)",
}


def _load_cases() -> list[dict[str, Any]]:
    if not CASES_FILE.is_file():
        return []

    with CASES_FILE.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


CASES = _load_cases()


def _levels(raw: list[dict[str, Any]] | None, kind: PolicyKind) -> list[ScpLevel]:
    return [
        ScpLevel(
            level["target"],
            [
                parse_policy(policy, kind, name=f"{level['target']}#{index}")
                for index, policy in enumerate(level["policies"])
            ],
        )
        for level in raw or []
    ]


def build(case: dict[str, Any]) -> tuple[AuthorizationRequest, PolicySet]:
    policies = case["policies"]
    request = case["request"]

    def optional(key: str, kind: PolicyKind, name: str) -> Any:
        document = policies.get(key)
        return parse_policy(document, kind, name=name) if document else None

    policy_set = PolicySet(
        identity=[
            parse_policy(policy, PolicyKind.IDENTITY, name=f"caller#{index}")
            for index, policy in enumerate(policies.get("identity") or [])
        ],
        resource=optional("resource", PolicyKind.RESOURCE, "my-function"),
        boundary=optional("boundary", PolicyKind.BOUNDARY, "caller-boundary"),
        session=optional("session", PolicyKind.SESSION, "caller-session"),
        scps=_levels(policies.get("scps"), PolicyKind.SCP),
        rcps=_levels(policies.get("rcps"), PolicyKind.RCP),
    )
    authorization = AuthorizationRequest(
        principal=Principal.from_arn(request["principal_arn"], request["principal_account"]),
        action=request["action"],
        resource=request["resource"],
        resource_account=case["resource_account"],
        context=request["context"],
    )
    return authorization, policy_set


def test_case_file_is_present() -> None:
    assert CASES, f"no cases found at {CASES_FILE} (set FNURL_SHARED to the shared directory)"
    assert len({case["id"] for case in CASES}) == len(CASES), "case ids must be unique"


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_case(case: dict[str, Any]) -> None:
    if case["id"] in PRE_EVALUATION:
        pytest.skip(PRE_EVALUATION[case["id"]])

    request, policies = build(case)

    decision = evaluate(request, policies)

    assert decision.outcome == case["expected"], (
        f"{case['id']}: {case['description']}\n"
        f"  expected {case['expected']} because {case['reason']}\n"
        f"  got {decision.outcome}: {decision.reason}\n  trace: {decision.trace}"
    )
    assert decision.reason
