"""Hot reload: watch the code directories of the functions that have environments.

One watcher covers every directory (watchfiles runs it on a thread of its own); it starts
again, on the larger set, when an environment is first made for a new directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import watchfiles

logger = logging.getLogger("fnurl.runtime")

# A change is acted on once the files have been quiet this long (milliseconds): an editor's
# save, or a `cp -r`, arrives as one change.
QUIET_MS = 50
# Besides watchfiles' defaults (.git, .venv, __pycache__, ...): fnurl's own state directory,
# which sits beside the project file and so inside a `code: .` function. They are matched
# below the watched directory only: code the Lambda API unpacks lives under .fnurl/.
IGNORED_DIRS = frozenset((*watchfiles.DefaultFilter.ignore_dirs, ".fnurl"))
IGNORED_FILES = re.compile("|".join(watchfiles.DefaultFilter.ignore_entity_patterns))


class CodeWatcher:
    """Calls `on_change` with the watched directories under which files changed."""

    def __init__(self, on_change: Callable[[list[Path]], Awaitable[None]]) -> None:
        self._on_change = on_change
        self._directories: set[Path] = set()
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None

    def watch(self, directory: Path) -> None:
        if directory in self._directories:
            return
        self._directories.add(directory)
        self._restart()

    async def close(self) -> None:
        task, self._task = self._task, None
        if self._stop is not None:
            self._stop.set()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _restart(self) -> None:
        if self._stop is not None:
            self._stop.set()
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._run(frozenset(self._directories), self._stop))

    async def _run(self, directories: frozenset[Path], stop: asyncio.Event) -> None:
        try:
            async for changes in watchfiles.awatch(
                *directories, watch_filter=None, stop_event=stop, step=QUIET_MS,
                ignore_permission_denied=True,
            ):
                changed = [Path(path) for _, path in changes]
                hit = [d for d in directories if any(counts(d, p) for p in changed)]
                if hit:
                    forget_bytecode(changed)
                    await self._on_change(hit)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A directory that vanished, or the platform's watch limit: keep serving.
            logger.exception("hot reload stopped watching %s",
                             ", ".join(str(d) for d in sorted(directories)))


def counts(directory: Path, path: Path) -> bool:
    """Whether a change at `path` is a change to the code in `directory`."""
    if not path.is_relative_to(directory):
        return False
    parts = path.relative_to(directory).parts
    if any(part in IGNORED_DIRS for part in parts):
        return False
    return not parts or not IGNORED_FILES.search(parts[-1])


def forget_bytecode(paths: Iterable[Path]) -> None:
    """Delete the cached bytecode of changed sources.

    Python trusts a .pyc whose recorded source mtime (in whole seconds) and size still match,
    so an edit within the same second that keeps the file's size would run the old code.
    """
    tag = sys.implementation.cache_tag
    for path in paths:
        if path.suffix != ".py" or tag is None:
            continue
        for cached in (path.parent / "__pycache__").glob(f"{glob.escape(path.stem)}.{tag}*.pyc"):
            with contextlib.suppress(OSError):
                cached.unlink()
