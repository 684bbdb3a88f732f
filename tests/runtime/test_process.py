"""Execution environments through a real server: faults stay inside them."""

from __future__ import annotations

import concurrent.futures
import os

import httpx

from tests.servers import Server


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
