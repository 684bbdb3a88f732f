"""A real server on the control-plane test project, with its state in the test's folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import REPO, Server, start_server

PROJECT = REPO / "tests" / "control" / "project" / "fnurl.yaml"


@pytest.fixture
def args(tmp_path: Path) -> list[str]:
    return ["--config", str(PROJECT), "--state-dir", str(tmp_path / "state")]


@pytest.fixture
def server(tmp_path: Path, args: list[str]) -> Iterator[Server]:
    running = start_server(tmp_path, args)
    yield running
    running.stop()
