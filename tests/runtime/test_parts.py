"""Pieces of the runtime that need no server: exit messages, what a code change is."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from fnurl.runtime import worker
from fnurl.runtime.process import exit_message
from fnurl.runtime.reload import counts, forget_bytecode


@pytest.mark.parametrize(
    ("returncode", "message"),
    [
        (0, "Runtime exited without providing a reason"),
        (None, "Runtime exited without providing a reason"),
        (1, "Runtime exited with error: exit status 1"),
        (-signal.SIGKILL, "Runtime exited with error: signal: killed"),
        (-signal.SIGSEGV, "Runtime exited with error: signal: segmentation fault"),
        (-signal.SIGABRT, "Runtime exited with error: signal: aborted"),
    ],
)
@pytest.mark.skipif(sys.platform != "linux", reason="glibc's signal descriptions")
def test_exit_messages_read_like_lambdas(returncode: int | None, message: str) -> None:
    assert exit_message(returncode) == message


CODE = Path("/srv/project")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (CODE / "app.py", True),
        (CODE / "lib" / "data.json", True),
        (CODE, True),
        (CODE / "__pycache__" / "app.cpython-312.pyc", False),
        (CODE / "app.pyc", False),
        (CODE / ".git" / "index", False),
        (CODE / ".venv" / "lib" / "x.py", False),
        (CODE / ".fnurl" / "fnurl.db", False),       # fnurl's own state, in a `code: .`
        (CODE / ".app.py.swp", False),
        (CODE / "app.py~", False),
        (Path("/srv/other/app.py"), False),
    ],
)
def test_which_changes_count(path: Path, expected: bool) -> None:
    assert counts(CODE, path) is expected


def test_ignored_names_count_only_below_the_watched_directory() -> None:
    # Code the Lambda API unpacked into the state directory still reloads.
    code = Path("/srv/project/.fnurl/functions/orders")

    assert counts(code, code / "app.py")


def test_changed_sources_lose_their_bytecode(tmp_path: Path) -> None:
    tag = sys.implementation.cache_tag
    source = tmp_path / "app.py"
    source.write_text("x = 1\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    stale = [cache / f"app.{tag}.pyc", cache / f"app.{tag}.opt-1.pyc"]
    kept = [cache / f"other.{tag}.pyc", cache / f"app_two.{tag}.pyc"]
    for path in stale + kept:
        path.write_bytes(b"")

    forget_bytecode([source, tmp_path / "README.md"])

    assert [p.exists() for p in stale] == [False, False]
    assert [p.exists() for p in kept] == [True, True]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((x for x in "ab"), True),
        (iter([1]), True),
        ("text", False),
        (b"bytes", False),
        ({"statusCode": 200}, False),
        ([1, 2], False),
        (None, False),
    ],
)
def test_what_streams(value: object, expected: bool) -> None:
    assert worker.is_stream(value) is expected
