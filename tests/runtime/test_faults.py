"""Every way an environment can fail, each followed by a healthy call (issue item 2)."""

from __future__ import annotations

import concurrent.futures
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.support import log_lines, url_of, wait_until
from tests.servers import Server


def call(server: Server, function: str, query: str = "") -> httpx.Response:
    return httpx.get(url_of(server, function, f"/?{query}"), timeout=30)


def healthy(server: Server, function: str = "faults") -> dict[str, Any]:
    response = call(server, function)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("sys-exit", "Runtime exited with error: exit status 4"),
        ("os-exit", "Runtime exited with error: exit status 5"),
        pytest.param("segfault", "Runtime exited with error: signal: segmentation fault",
                     marks=pytest.mark.skipif(sys.platform != "linux", reason="glibc names")),
    ],
)
def test_an_exiting_environment_is_replaced(project_server: Server, kind: str,
                                            message: str) -> None:
    before = healthy(project_server)["pid"]

    response = call(project_server, "faults", f"kind={kind}")

    assert response.status_code == 502
    assert response.content == b"Internal Server Error"
    request_id = response.headers["x-amzn-requestid"]
    assert any(f"RequestId: {request_id} Error: {message}" in line
               for line in log_lines(project_server, request_id))
    after = healthy(project_server)
    assert after["pid"] != before


def test_running_out_of_memory_is_a_502_and_a_fresh_environment(project_server: Server) -> None:
    before = healthy(project_server)["pid"]

    response = call(project_server, "faults", "kind=oom")

    assert response.status_code == 502
    lines = log_lines(project_server, response.headers["x-amzn-requestid"])
    assert any("Runtime.OutOfMemory" in line and "signal: killed" in line for line in lines)
    assert any("Max Memory Used: 128 MB" in line for line in lines if "REPORT" in line)
    assert healthy(project_server)["pid"] != before


def test_memory_error_is_a_handler_error_and_the_environment_stays(
    project_server: Server,
) -> None:
    before = healthy(project_server)["pid"]

    response = call(project_server, "faults", "kind=memory-error")

    assert response.status_code == 502
    assert "MemoryError" in "\n".join(log_lines(project_server,
                                                response.headers["x-amzn-requestid"]))
    assert healthy(project_server)["pid"] == before


def test_warm_environment_keeps_module_state(project_server: Server) -> None:
    first = healthy(project_server)
    second = healthy(project_server)

    assert second["pid"] == first["pid"]
    assert second["calls"] == first["calls"] + 1


def test_report_lines_like_cloudwatch(project_server: Server) -> None:
    response = call(project_server, "faults", "kind=print")
    request_id = response.headers["x-amzn-requestid"]

    lines = log_lines(project_server, request_id)
    texts = [line.split("[faults] ", 1)[1] for line in lines if "[faults] " in line]
    start = texts.index(f"START RequestId: {request_id} Version: $LATEST")
    first = texts.index(f"{request_id} first line")
    last = texts.index(f"{request_id} last line, no newline")
    end = texts.index(f"END RequestId: {request_id}")
    report = next(t for t in texts if t.startswith("REPORT"))
    assert start < first < last < end < texts.index(report)
    assert re.fullmatch(
        rf"REPORT RequestId: {request_id}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 128 MB\tMax Memory Used: \d+ MB(\tInit Duration: \d+\.\d\d ms)?",
        report,
    )
    used = re.search(r"Max Memory Used: (\d+) MB", report)
    assert used is not None and 1 <= int(used.group(1)) <= 128


def test_init_duration_only_on_a_cold_start(project_server: Server) -> None:
    call(project_server, "faults", "kind=os-exit")   # the next call starts a new environment
    cold = call(project_server, "faults")
    warm = call(project_server, "faults")

    def report(response: httpx.Response) -> str:
        request_id = response.headers["x-amzn-requestid"]
        return next(line for line in log_lines(project_server, request_id) if "REPORT" in line)

    assert "Init Duration" in report(cold)
    assert "Init Duration" not in report(warm)


def _waiting_call(server: Server, function: str, started: Path, flag: Path) -> httpx.Response:
    return call(server, function, f"kind=wait&started={started}&flag={flag}")


def test_reserved_concurrency_throttles_the_call_beyond_it(
    project_server: Server, tmp_path: Path
) -> None:
    started, flag = tmp_path / "started", tmp_path / "flag"
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        busy = pool.submit(_waiting_call, project_server, "single", started, flag)
        try:
            assert wait_until(started.exists), "the first call never reached the handler"

            throttled = call(project_server, "single")
            assert throttled.status_code == 429
            assert throttled.headers["x-amzn-errortype"] == "TooManyRequestsException"
            assert throttled.json() == {
                "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                "Type": "User", "message": "Rate Exceeded."}
        finally:
            flag.touch()
        assert busy.result().status_code == 200

    assert healthy(project_server, "single")["calls"] >= 1


def test_parallel_calls_run_in_separate_environments(
    project_server: Server, tmp_path: Path
) -> None:
    flag = tmp_path / "flag"
    markers = [tmp_path / f"started-{n}" for n in range(3)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        calls = [pool.submit(_waiting_call, project_server, "faults", m, flag) for m in markers]
        try:
            # All three are inside the handler at once: three environments.
            assert wait_until(lambda: all(m.exists() for m in markers))
        finally:
            flag.touch()
        pids = {c.result().json()["pid"] for c in calls}

    assert len(pids) == 3


def test_other_functions_answer_while_one_is_failing(
    project_server: Server, tmp_path: Path
) -> None:
    started, flag = tmp_path / "started", tmp_path / "flag"
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        busy = pool.submit(_waiting_call, project_server, "faults", started, flag)
        try:
            assert wait_until(started.exists)
            assert call(project_server, "reply", "kind=string").content == b"hello"
            assert call(project_server, "faults", "kind=segfault").status_code == 502
            assert call(project_server, "reply", "kind=string").content == b"hello"
        finally:
            flag.touch()
        assert busy.result().status_code == 200


@pytest.mark.parametrize(
    ("function", "query"),
    [
        ("reply", "kind=raise"),            # unhandled exception
        ("reply", "kind=unserialisable"),   # Runtime.MarshalError
        ("reply", "kind=sleep"),            # timeout (2 s)
        ("broken", ""),                     # import-time error
    ],
)
def test_handler_faults_leave_the_server_healthy(project_server: Server, function: str,
                                                 query: str) -> None:
    assert call(project_server, function, query).status_code == 502

    assert call(project_server, "reply", "kind=string").content == b"hello"
    assert healthy(project_server)["calls"] >= 1
