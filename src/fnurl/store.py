"""Durable state: what the control plane was told, in a SQLite file.

Every object (a function's URL config, a function's resource policy, ...) is one row keyed by
kind, function and qualifier, holding its JSON value and where it came from: the project file
("file") or an API call ("api"). A write returns only after SQLite has it on disk (WAL with
synchronous=FULL), so an acknowledged AddPermission survives a SIGKILL.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Source = Literal["file", "api"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind      TEXT NOT NULL,
    function  TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    value     TEXT,            -- JSON; NULL when the object was deleted
    source    TEXT NOT NULL,   -- 'file' or 'api'
    file_hash TEXT NOT NULL,   -- the project file's definition when this row was written
    PRIMARY KEY (kind, function, qualifier)
);
"""


@dataclass(frozen=True)
class StoredObject:
    value: dict[str, Any] | None
    source: Source
    file_hash: str


class StoreError(Exception):
    """The state file cannot be opened as fnurl's store; the message says what to do."""


def _lock_beside(path: Path) -> int:
    """Hold `<state>.lock` for as long as this process serves the state.

    Each server keeps its registry in memory: two on one state file would each miss what
    the other created, and overwrite it. The second one is refused instead.
    """
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(descriptor)
        raise StoreError(
            f"another fnurl serve is using the state in {path.parent}; stop it, or give this "
            "one its own --state-dir DIR (or --ephemeral)") from exc
    return descriptor


class Store:
    """A SQLite file of control-plane state (or an in-memory one, for tests)."""

    def __init__(self, path: Path | None, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._lock: int | None = None
        try:
            if path is not None and not read_only:
                self._lock = _lock_beside(path)
            self._open(path, read_only)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StoreError(
                f"cannot open the state file {path}: {exc}. Move it aside to start with a "
                "fresh state, or pass --state-dir DIR (or --ephemeral)"
            ) from exc

    def _open(self, path: Path | None, read_only: bool) -> None:
        if read_only and path is not None:
            # For `fnurl explain`: see what the server sees, change nothing.
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                       check_same_thread=False)
            return
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(path) if path is not None else ":memory:",
            isolation_level=None,
            check_same_thread=False,
        )
        if path is not None:
            # The store holds issued session secrets: readable by the user running fnurl only.
            os.chmod(path, 0o600)
            self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: with WAL, NORMAL may lose the last commits on power loss; we promise more.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()
        if self._lock is not None:
            os.close(self._lock)      # closing the descriptor releases the lock
            self._lock = None

    def get(self, kind: str, function: str, qualifier: str = "") -> StoredObject | None:
        row = self._db.execute(
            "SELECT value, source, file_hash FROM objects "
            "WHERE kind = ? AND function = ? AND qualifier = ?",
            (kind, function, qualifier),
        ).fetchone()
        if row is None:
            return None
        value = json.loads(row[0]) if row[0] is not None else None
        return StoredObject(value, row[1], row[2])

    def put(
        self,
        kind: str,
        function: str,
        qualifier: str,
        value: dict[str, Any] | None,
        *,
        source: Source,
        file_hash: str,
    ) -> None:
        if self.read_only:
            return
        text = json.dumps(value, separators=(",", ":")) if value is not None else None
        self._db.execute(
            "INSERT INTO objects (kind, function, qualifier, value, source, file_hash) "
            "VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, function, qualifier) DO UPDATE SET "
            "value = excluded.value, source = excluded.source, file_hash = excluded.file_hash",
            (kind, function, qualifier, text, source, file_hash),
        )

    def delete(self, kind: str, function: str, qualifier: str = "") -> None:
        """Forget a row entirely (expired sessions): no tombstone is needed for it."""
        if not self.read_only:
            self._db.execute("DELETE FROM objects WHERE kind = ? AND function = ? AND "
                             "qualifier = ?", (kind, function, qualifier))

    def items(
        self, kind: str, function: str | None = None
    ) -> Iterator[tuple[str, str, StoredObject]]:
        """Rows of one kind, of every function or of one."""
        query = "SELECT function, qualifier, value, source, file_hash FROM objects WHERE kind = ?"
        parameters: tuple[str, ...] = (kind,)
        if function is not None:
            query += " AND function = ?"
            parameters = (kind, function)
        rows = self._db.execute(query + " ORDER BY function, qualifier", parameters).fetchall()
        for function, qualifier, value, source, file_hash in rows:
            decoded = json.loads(value) if value is not None else None
            yield function, qualifier, StoredObject(decoded, source, file_hash)
