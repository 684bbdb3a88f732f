"""The README's examples work as written (handler, project file, curl, botocore)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.servers import REPO, start_server

README = (REPO / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL)


def test_first_two_commands() -> None:
    serve, test = blocks("sh")[:2]

    assert "pip install ." in serve and serve.strip().endswith("fnurl serve")
    assert "pip install -e '.[test]'" in test and test.strip().endswith("pytest")
    ci = (REPO / ".ci" / "run").read_text()
    assert "pip install -q -e '.[test]'" in ci and "pytest" in ci


@pytest.fixture
def readme_project(tmp_path: Path) -> Path:
    handler = next(b for b in blocks("python") if "def handler" in b)
    project = next(b for b in blocks("yaml") if "functions:" in b)
    code = tmp_path / "functions" / "hello"
    code.mkdir(parents=True)
    (code / "app.py").write_text(handler)
    (tmp_path / "fnurl.yaml").write_text(project)
    return tmp_path


def test_readme_project_checks_and_serves(readme_project: Path) -> None:
    check = subprocess.run([sys.executable, "-m", "fnurl", "check"], cwd=readme_project,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr

    server = start_server(readme_project)
    try:
        url_id = httpx.get(f"{server.base}/_fnurl/health").json()["urls"]["hello"]["url_id"]

        snippet = next(b for b in blocks("python") if "SigV4Auth" in b)
        snippet = snippet.replace("<url-id>", url_id).replace(":9000", f":{server.port}")
        result = subprocess.run([sys.executable, "-c", snippet], capture_output=True,
                                text=True, timeout=60)
        assert result.stdout.strip() == "hello arn:aws:iam::111122223333:user/alice", (
            result.stderr)

        if shutil.which("curl"):
            command = next(b for b in blocks("sh") if "--aws-sigv4" in b and "<url-id>" in b)
            command = command.replace("<url-id>", url_id).replace(":9000", f":{server.port}")
            result = subprocess.run(["bash", "-c", command.replace("curl ", "curl -s ", 1)],
                                    capture_output=True, text=True, timeout=60)
            assert result.stdout == "hello arn:aws:iam::111122223333:user/alice"

        unsigned = httpx.get(server.path_url(url_id))
        assert unsigned.status_code == 403
    finally:
        server.stop()
