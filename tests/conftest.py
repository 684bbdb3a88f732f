from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import REPO, Server, start_server

PROJECT = REPO / "tests" / "integration" / "project" / "fnurl.yaml"


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`fnurl serve` with no project file: the bundled demo."""
    server = start_server(tmp_path_factory.mktemp("demo"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def project_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The integration-test project (echo and reply handlers)."""
    workdir = tmp_path_factory.mktemp("project")
    server = start_server(workdir, ["--config", str(PROJECT), "--state-dir", str(workdir / "s")])
    yield server
    server.stop()


@pytest.fixture
def serve_project(tmp_path: Path) -> Iterator[object]:
    """Start a server for a project file a test writes; stopped after the test."""
    servers: list[Server] = []

    def start(project_file: Path, *args: str) -> Server:
        server = start_server(tmp_path, ["--config", str(project_file), *args])
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
