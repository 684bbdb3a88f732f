"""The container image and compose file, checked without a Docker engine."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml

from tests.servers import REPO, SHARED, free_port, start_server

DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "compose.yaml"


def instructions() -> list[tuple[str, str]]:
    """Dockerfile instructions as (keyword, arguments), continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def image_command() -> list[str]:
    commands = [rest for keyword, rest in instructions() if keyword == "CMD"]
    assert len(commands) == 1
    return list(json.loads(commands[0]))


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in instructions():
        if keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def test_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((SHARED / "vectors" / "compose" / "compose-spec.json").read_text())
    document = yaml.safe_load(COMPOSE.read_text())

    jsonschema.Draft7Validator(schema).validate(document)
    service = document["services"]["fnurl"]
    assert service["build"] == "."
    assert "127.0.0.1:9000:9000" in service["ports"]


def test_compose_default_mount_serves_the_demo() -> None:
    volume = yaml.safe_load(COMPOSE.read_text())["services"]["fnurl"]["volumes"][0]
    default = volume.split(":-", 1)[1].split("}", 1)[0]

    assert (REPO / default).is_dir()
    assert not (REPO / default / "fnurl.yaml").exists()


def test_compose_schema_rejects_a_broken_file() -> None:
    schema = json.loads((SHARED / "vectors" / "compose" / "compose-spec.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate({"services": {"fnurl": {"ports": "9000"}}})


def test_dockerfile_lints_clean() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_dockerfile_shape() -> None:
    keywords = dict(instructions())

    assert keywords["FROM"].startswith("python:") and "slim" in keywords["FROM"]
    assert keywords["EXPOSE"] == "9000"
    assert keywords["USER"] != "root" and not keywords["USER"].startswith("0")
    assert "/_fnurl/health" in (REPO / "docker" / "healthcheck.py").read_text()
    assert image_command() == ["fnurl", "serve", "--host", "0.0.0.0"]
    for keyword, rest in instructions():
        if keyword == "COPY":
            for source in rest.split()[:-1]:
                assert (REPO / source).exists(), source


def test_image_command_serves_the_demo(tmp_path: Path) -> None:
    """Run the image's exact command line, with its environment, outside Docker."""
    fnurl = shutil.which("fnurl") or str(Path(sys.executable).parent / "fnurl")
    command = image_command()
    port = free_port()
    env = {**image_env(), "FNURL_PORT": str(port), "FNURL_STATE_DIR": str(tmp_path / "state")}
    project = tmp_path / "project"
    project.mkdir()

    server = start_server(project, command=[fnurl, *command[1:]], env=env, port=port)
    try:
        response = httpx.get(
            f"http://127.0.0.1:{port}/_fnurl/publicpublicpublicpublicpublic01/", timeout=30
        )
        assert response.status_code == 200
        health = subprocess.run(
            [sys.executable, str(REPO / "docker" / "healthcheck.py")],
            env={**os.environ, "FNURL_PORT": str(port)},
        )
        assert health.returncode == 0
    finally:
        server.stop()

    health = subprocess.run(
        [sys.executable, str(REPO / "docker" / "healthcheck.py")],
        env={**os.environ, "FNURL_PORT": str(port)},
    )
    assert health.returncode == 1
