"""Project-file reload: an edit to fnurl.yaml applies while `fnurl serve` runs.

A valid edit is applied the way a restart would apply it (the state store's precedence
holds: an API change survives unless the file changed that object's definition); an invalid
edit is logged with its located problems and the running configuration stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from fnurl import config, registry
from fnurl.control.state import ControlState
from fnurl.control.sts import Sts

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("fnurl.config")


class ProjectReloader:
    def __init__(self, path: Path, state: ControlState, sts: Sts) -> None:
        self.path = path.resolve()
        self.state = state
        self.sts = sts

    def reload(self) -> bool:
        """Apply the project file as it is now; False (and logged) when it is invalid."""
        try:
            loaded = config.load(self.path)
        except config.ConfigError as exc:
            logger.error("%s changed but has %d problem(s); still serving the previous "
                         "configuration:", self.path, len(exc.problems))
            for problem in exc.problems:
                logger.error("  %s", problem)
            return False
        for warning in loaded.warnings:
            logger.warning("warning: %s", warning)

        # Swap the contents of the one Registry everybody holds, not the object itself.
        current = self.state.registry
        fresh = registry.build(loaded, demo=current.demo)
        for field in dataclasses.fields(current):
            setattr(current, field.name, getattr(fresh, field.name))

        self.state.reload(loaded)
        # Temporary credentials outlive edits of the file, as sessions outlive IAM changes;
        # they are rebuilt from the store with the roles' new policies.
        self.sts.reload(loaded)
        logger.info("%s reloaded: %d functions, %d function URLs", self.path,
                    len(current.functions), len(current.urls))
        return True

    async def watch(self) -> None:
        import watchfiles

        def is_project_file(_: watchfiles.Change, path: str) -> bool:
            return Path(path).resolve() == self.path

        # Only the file's own directory: the state store and logs may live below it.
        async for _ in watchfiles.awatch(self.path.parent, watch_filter=is_project_file,
                                         debounce=200, step=50, recursive=False):
            self.reload()


def with_project_reload(app: App, reloader: ProjectReloader) -> App:
    """Wrap an ASGI app so the project file is watched between lifespan startup and shutdown."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        task: asyncio.Task[None] | None = None

        async def receive_and_watch() -> Message:
            nonlocal task
            message = await receive()
            if message["type"] == "lifespan.startup" and task is None:
                task = asyncio.create_task(reloader.watch())
            elif message["type"] == "lifespan.shutdown" and task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            return message

        await app(scope, receive_and_watch, send)

    return wrapped
