"""Execution environments through a real server: faults stay inside them."""

from __future__ import annotations

import concurrent.futures
import os
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PROJECT
from tests.servers import Server, start_server


def url_of(server: Server, function: str, path: str = "/") -> str:
    urls = httpx.get(f"{server.base}/_fnurl/health", timeout=10).json()["urls"]
    return server.path_url(urls[function]["url_id"], path)


def test_a_crashing_handler_gets_502_and_a_fresh_environment(project_server: Server) -> None:
    crashed = httpx.get(url_of(project_server, "reply", "/?kind=exit"), timeout=30)
    assert crashed.status_code == 502
    assert crashed.content == b"Internal Server Error"
    assert "Runtime exited" in project_server.log()

    again = httpx.get(url_of(project_server, "reply", "/?kind=string"), timeout=30)
    assert again.status_code == 200 and again.content == b"hello"


def test_import_error_is_502_and_logged_with_the_handler(project_server: Server) -> None:
    response = httpx.get(url_of(project_server, "broken"), timeout=30)

    assert response.status_code == 502
    log = project_server.log()
    assert "Runtime.ImportModuleError" in log
    assert "Unable to import module 'broken'" in log


def test_reserved_concurrency_zero_throttles(project_server: Server) -> None:
    response = httpx.get(url_of(project_server, "throttled"), timeout=30)

    assert response.status_code == 429
    assert response.headers["x-amzn-errortype"] == "TooManyRequestsException"
    assert response.json()["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_parallel_calls_use_several_environments(project_server: Server) -> None:
    url = url_of(project_server, "reply", "/?kind=nap")
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda _: httpx.get(url, timeout=30), range(4)))

    assert [r.status_code for r in responses] == [200] * 4
    assert all(r.content == b"rested" for r in responses)


def test_handler_output_is_attributed(project_server: Server) -> None:
    response = httpx.get(url_of(project_server, "reply", "/?kind=print"), timeout=30)
    request_id = response.headers["x-amzn-requestid"]

    lines = [line for line in project_server.log().splitlines()
             if "line from the handler" in line]
    assert lines and "[reply]" in lines[-1] and request_id in lines[-1]
    assert any(f"REPORT RequestId: {request_id}" in line
               for line in project_server.log().splitlines())


def test_gateway_environment_does_not_leak(project_server: Server) -> None:
    env = httpx.get(url_of(project_server, "echo"), timeout=30).json()["env"]

    assert "HOME" not in env or env["HOME"] != os.environ.get("HOME")
    assert not any(name.startswith("PYTEST") for name in env)


def test_long_output_without_newline_keeps_the_log_relay_alive(project_server: Server) -> None:
    response = httpx.get(url_of(project_server, "reply", "/?kind=longprint"), timeout=30)
    assert response.content == b"printed"

    deadline = time.monotonic() + 5
    while "after the long line" not in project_server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "after the long line" in project_server.log()


def test_an_import_that_never_ends_is_cut_at_the_init_limit(project_server: Server) -> None:
    started = time.monotonic()
    response = httpx.get(url_of(project_server, "hang"), timeout=60)

    assert response.status_code == 502
    assert 9 < time.monotonic() - started < 30
    assert "INIT timed out" in project_server.log()


def test_oversized_event_is_refused(project_server: Server) -> None:
    body = b"\x00" * 5_000_000  # base64 makes the event larger than 6 MB
    response = httpx.post(url_of(project_server, "echo"), content=body, timeout=60,
                          headers={"Content-Type": "application/octet-stream"})

    assert response.status_code == 413
    assert response.headers["x-amzn-errortype"] == "RequestTooLargeException"


@pytest.mark.skipif(sys.platform != "linux", reason="uses /proc")
def test_environments_die_with_the_gateway(tmp_path: Path) -> None:
    server = start_server(tmp_path, ["--config", str(PROJECT)])
    try:
        assert httpx.get(url_of(server, "echo"), timeout=30).status_code == 200
        workers = [
            int(entry.name) for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and _is_worker_of(entry, server.process.pid)
        ]
        assert workers
    finally:
        server.process.kill()
        server.process.wait()

    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _is_worker_of(entry: Path, parent: int) -> bool:
    try:
        cmdline = (entry / "cmdline").read_bytes()
        stat = (entry / "stat").read_text()
    except OSError:
        return False
    ppid = int(stat.rsplit(")", 1)[1].split()[1])
    return b"fnurl/runtime/worker.py" in cmdline and ppid == parent


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_handler_that_does_not_parse_is_served_as_502_until_fixed(tmp_path: Path) -> None:
    # Lambda takes code it cannot import: only that function fails, and an edit fixes it.
    for name, source in (("good", "def handler(event, context):\n    return 'fine'\n"),
                         ("bad", "def handler(:\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text(source)
    (tmp_path / "fnurl.yaml").write_text(
        'accounts: {"111122223333": {}}\n'
        "functions:\n"
        "  good: {code: good, handler: app.handler, url: {auth_type: NONE, public_access: true}}\n"
        "  bad: {code: bad, handler: app.handler, url: {auth_type: NONE, public_access: true}}\n"
    )
    server = start_server(tmp_path, ["--ephemeral"])
    try:
        assert "functions.bad.handler" in server.banner and "syntax error" in server.banner
        assert httpx.get(url_of(server, "good"), timeout=30).content == b"fine"
        broken = httpx.get(url_of(server, "bad"), timeout=30)
        assert broken.status_code == 502
        assert "Runtime.UserCodeSyntaxError" in server.log()

        (tmp_path / "bad" / "app.py").write_text("def handler(event, context):\n    return 'ok'\n")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            fixed = httpx.get(url_of(server, "bad"), timeout=30)
            if fixed.status_code == 200:
                break
            time.sleep(0.2)
        assert fixed.content == b"ok"
    finally:
        server.stop()
