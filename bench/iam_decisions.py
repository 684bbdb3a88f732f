"""IAM decisions per second: a 20-statement function policy and two identity policies.

The shape of a busy function URL: the function's resource-based policy grants 20 callers
(accounts, roles, users, the public URL statement pair), each statement with conditions,
and the caller holds two identity policies with conditions of their own. Policies are
compiled once, as fnurl does when it loads a project; only evaluation is timed.

    python bench/iam_decisions.py              # about 2 seconds per request kind
    python bench/iam_decisions.py --seconds 5
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from fnurl.iam import AuthorizationRequest, PolicyKind, PolicySet, Principal, evaluate, parse_policy

OWNER = "111122223333"
FUNCTION = f"arn:aws:lambda:us-east-1:{OWNER}:function:orders"
TEAM_FUNCTIONS = f"arn:aws:lambda:us-east-1:{OWNER}:function:${{aws:PrincipalTag/team}}-*"
ALICE = f"arn:aws:iam::{OWNER}:user/alice"


def resource_policy() -> dict[str, Any]:
    statements: list[dict[str, Any]] = []
    for index in range(18):
        account = f"{444455550000 + index:012d}"
        statements.append({
            "Sid": f"Partner{index}",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:role/caller-{index}"},
            "Action": ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"],
            "Resource": FUNCTION,
            "Condition": {
                "StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"},
                "IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]},
                "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{account}:role/caller-*"},
            },
        })

    statements.append({
        "Sid": "DenyOldTls",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "lambda:*",
        "Resource": FUNCTION,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })
    statements.append({
        "Sid": "OrgOnly",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:InvokeFunction",
        "Resource": FUNCTION,
        "Condition": {
            "Bool": {"lambda:InvokedViaFunctionUrl": "true"},
            "StringEquals": {"aws:PrincipalOrgID": "o-exampleorg1"},
        },
    })
    return {"Version": "2012-10-17", "Statement": statements}


def identity_policies() -> list[dict[str, Any]]:
    return [
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "TeamFunctions",
                    "Effect": "Allow",
                    "Action": "lambda:Invoke*",
                    "Resource": TEAM_FUNCTIONS,
                    "Condition": {"StringLike": {"aws:userid": "AIDA*"}},
                },
                {
                    "Sid": "NoNightDeploys",
                    "Effect": "Deny",
                    "Action": "lambda:Update*",
                    "Resource": "*",
                    "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
                },
            ],
        },
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OrdersFromOffice",
                    "Effect": "Allow",
                    "Action": ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"],
                    "Resource": FUNCTION,
                    "Condition": {
                        "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
                        "StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "Orders"},
                        "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
                    },
                }
            ],
        },
    ]


def requests() -> dict[str, AuthorizationRequest]:
    context = {
        "aws:SourceIp": "203.0.113.10",
        "aws:SecureTransport": "true",
        "aws:CurrentTime": "2026-06-01T12:00:00Z",
        "aws:EpochTime": "1780315200",
        "aws:PrincipalArn": ALICE,
        "aws:PrincipalAccount": OWNER,
        "aws:PrincipalType": "User",
        "aws:username": "alice",
        "aws:userid": "AIDAEXAMPLEALICE00001",
        "aws:PrincipalTag/team": "orders",
        "lambda:FunctionUrlAuthType": "AWS_IAM",
    }
    alice = Principal.from_arn(ALICE)
    other = Principal.from_arn(f"arn:aws:sts::{444455550000 + 17:012d}:assumed-role/caller-17/s")
    return {
        "same-account user, allowed by identity": AuthorizationRequest(
            alice, "lambda:InvokeFunctionUrl", FUNCTION, OWNER, context
        ),
        "cross-account session, denied (no identity policy)": AuthorizationRequest(
            other, "lambda:InvokeFunctionUrl", FUNCTION, OWNER,
            {**context, "aws:SourceIp": "198.51.100.1"},
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per request kind")
    seconds = parser.parse_args().seconds

    started = time.perf_counter()
    policies = PolicySet(
        identity=[parse_policy(doc, PolicyKind.IDENTITY) for doc in identity_policies()],
        resource=parse_policy(resource_policy(), PolicyKind.RESOURCE, name="orders"),
    )
    compiled = time.perf_counter() - started
    print(f"compiled 3 policies (22 statements) in {compiled * 1000:.1f} ms")

    for label, request in requests().items():
        outcome = evaluate(request, policies).outcome
        count = 0
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            for _ in range(100):
                evaluate(request, policies)
            count += 100

        rate = count / (time.perf_counter() - started)
        print(f"{label} -> {outcome}: {rate:,.0f} decisions/s ({1e6 / rate:.1f} µs each)")


if __name__ == "__main__":
    main()
