"""Environments over time: idle ones are shut down, code changes retire them (hot reload),
and the gateway's own environment never reaches them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.integration.support import url_of, wait_until
from tests.servers import Server

HANDLER = '''import os

def handler(event, context):
    return {"version": "v1", "pid": os.getpid(), "env": dict(os.environ)}
'''


def project(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(HANDLER)
    (code / "data.txt").write_text("one")
    document = {
        "accounts": {"111122223333": {}},
        "functions": {
            "live": {"handler": "app.handler", "code": "code",
                     "url": {"auth_type": "NONE", "public_access": True}},
            "other": {"handler": "app.handler", "code": "code", "environment": {"MINE": "yes"},
                      "url": {"auth_type": "NONE", "public_access": True}},
        },
    }
    path = tmp_path / "fnurl.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def call(server: Server, function: str = "live") -> dict[str, Any]:
    response = httpx.get(url_of(server, function), timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_idle_environments_are_shut_down(
    tmp_path: Path, serve_project: Callable[..., Server]
) -> None:
    server = serve_project(project(tmp_path), "--idle-timeout", "0.5")
    first = call(server)["pid"]

    assert wait_until(lambda: "shut down an environment idle" in server.log())
    assert call(server)["pid"] != first


def test_warm_environments_stay_within_the_idle_timeout(
    tmp_path: Path, serve_project: Callable[..., Server]
) -> None:
    server = serve_project(project(tmp_path), "--idle-timeout", "60")
    first = call(server)["pid"]
    time.sleep(1)

    assert call(server)["pid"] == first
    assert "shut down an environment idle" not in server.log()


def test_a_code_change_runs_new_code_on_the_next_call(
    tmp_path: Path, serve_project: Callable[..., Server]
) -> None:
    server = serve_project(project(tmp_path))
    before = call(server)
    assert before["version"] == "v1"

    # Same size and, as after a quick edit, the same mtime in whole seconds: Python's
    # bytecode cache would take this for the file it compiled before.
    source = tmp_path / "code" / "app.py"
    old = source.stat()
    source.write_text(HANDLER.replace("v1", "v2"))
    os.utime(source, ns=(old.st_atime_ns, old.st_mtime_ns))
    changed = time.monotonic()
    assert wait_until(lambda: call(server)["version"] == "v2")
    elapsed = time.monotonic() - changed

    assert elapsed < 5, f"new code took {elapsed:.2f} s"   # the issue asks for < 1 s
    assert call(server)["pid"] != before["pid"]
    assert "code changed in" in server.log()


def test_any_file_under_the_code_directory_counts(
    tmp_path: Path, serve_project: Callable[..., Server]
) -> None:
    server = serve_project(project(tmp_path))
    first = call(server)["pid"]
    other = call(server, "other")["pid"]

    (tmp_path / "code" / "data.txt").write_text("two")

    # Both functions run code from this directory: both get new environments.
    assert wait_until(lambda: call(server)["pid"] != first)
    assert call(server, "other")["pid"] != other


def test_without_reload_code_changes_wait_for_a_new_environment(
    tmp_path: Path, serve_project: Callable[..., Server]
) -> None:
    server = serve_project(project(tmp_path), "--no-reload")
    first = call(server)

    (tmp_path / "code" / "app.py").write_text(HANDLER.replace("v1", "v2"))
    time.sleep(1)

    again = call(server)
    assert again["version"] == "v1" and again["pid"] == first["pid"]


def test_the_gateways_environment_stays_out(
    tmp_path: Path, serve_project: Callable[..., Server], monkeypatch: Any
) -> None:
    secrets = {
        "AWS_ACCESS_KEY_ID": "AKIAGATEWAYSECRET001",
        "AWS_SECRET_ACCESS_KEY": "gateway-secret-value",
        "AWS_SESSION_TOKEN": "gateway-token",
        "AWS_PROFILE": "gateway-profile",
        "FNURL_TEST_SECRET": "do-not-pass",
        "DATABASE_URL": "postgres://gateway:pw@db/x",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    server = serve_project(project(tmp_path))

    env = call(server, "other")["env"]

    assert not set(secrets) & set(env)
    assert not any(value in str(env) for value in secrets.values())
    assert env["MINE"] == "yes"
    reserved = {
        "AWS_LAMBDA_FUNCTION_NAME": "other",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/other",
        "_HANDLER": "app.handler",
        "LAMBDA_TASK_ROOT": str((tmp_path / "code").resolve()),
        "TZ": ":UTC",
    }
    assert {name: env.get(name) for name in reserved} == reserved
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"]


def test_a_failed_init_is_tried_again_on_the_next_call(
    tmp_path: Path, serve_project: Callable[..., Server]
) -> None:
    path = project(tmp_path)
    flag = tmp_path / "init-fails"
    (tmp_path / "code" / "app.py").write_text(
        f"import os\nif os.path.exists({str(flag)!r}):\n    raise RuntimeError('no init')\n"
        + HANDLER)
    flag.touch()
    # Without reload, only a new init can see the flag gone.
    server = serve_project(path, "--no-reload")

    failed = httpx.get(url_of(server, "live"), timeout=30)
    assert failed.status_code == 502
    assert "Unable to import module 'app': RuntimeError: no init" in server.log()

    flag.unlink()
    assert call(server)["version"] == "v1"
