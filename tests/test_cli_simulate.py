"""`fnurl simulate`, the real command: every shared IAM case, and malformed input."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.iam.test_cases import CASES, CASES_FILE


def simulate(stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fnurl", "simulate"],
        input=stdin, capture_output=True, text=True, timeout=60,
    )


def test_every_shared_case_gets_its_expected_decision() -> None:
    assert CASES, f"no cases at {CASES_FILE} (set FNURL_SHARED to the shared directory)"

    result = simulate(CASES_FILE.read_text(encoding="utf-8"))

    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [answer["id"] for answer in answers] == [case["id"] for case in CASES]
    wrong = [
        f"{case['id']}: expected {case['expected']}, got {answer['decision']} "
        f"({answer['reasons'][0]})"
        for case, answer in zip(CASES, answers, strict=True)
        if answer["decision"] != case["expected"]
    ]
    assert not wrong, "\n".join(wrong)
    for answer in answers:
        assert set(answer) == {"id", "decision", "reasons"}
        assert answer["reasons"] and all(isinstance(r, str) for r in answer["reasons"])


def test_malformed_lines_get_errors_and_the_rest_is_still_decided() -> None:
    good = CASES[0]
    broken = {**good, "id": "BROKEN", "request": {**good["request"], "action": 42}}
    stdin = "\n".join([json.dumps(broken), "# comment", "{oops", json.dumps(good)]) + "\n"

    result = simulate(stdin)

    assert result.returncode == 1
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert answers[0] == {"id": "BROKEN", "error": "request.action: must be a non-empty string"}
    assert answers[1]["id"] is None and answers[1]["error"].startswith("line 3: not valid JSON")
    assert answers[2]["id"] == good["id"] and answers[2]["decision"] == good["expected"]
    assert "Traceback" not in result.stderr
