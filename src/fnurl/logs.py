"""Logging set-up for `fnurl serve`: named loggers, one line per event.

Every function URL call logs four lines or more (START, the handler's output, END, REPORT and
the access line), so the path from a record to stderr is kept short: the timestamp is
formatted once per second, and lines are written in batches, once per turn of the event loop,
instead of a write and a flush per record. The gateway calls `write_pending()` as a response
starts, so a line logged before a response is on the stream before its client has the reply.
`info()` logs the per-call lines; while fnurl's own handler is the only one listening, it
formats them without a LogRecord.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)-5s %(name)s %(message)s"


class _Formatter(logging.Formatter):
    """`FORMAT`, with `[function]` before the message of records about one function."""

    def __init__(self) -> None:
        super().__init__(FORMAT)
        self._second = -1
        self._second_text = ""

    def line(self, created: float, levelname: str, name: str, function: str | None,
             message: str) -> str:
        second = int(created)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(second))
            self._second = second
        tag = f"[{function}] " if function is not None else ""
        msecs = int((created - second) * 1000)
        return f"{self._second_text},{msecs:03d} {levelname:<5} {name} {tag}{message}"

    def format(self, record: logging.LogRecord) -> str:
        function = getattr(record, "function", None)
        if record.exc_info or record.exc_text or record.stack_info:
            if function is not None and not getattr(record, "_fnurl_tagged", False):
                record.msg = f"[{function}] {record.msg}"
                record._fnurl_tagged = True
            return super().format(record)

        # The same text as FORMAT gives, without the generic formatter's steps.
        return self.line(record.created, record.levelname, record.name, function,
                         record.getMessage())


class _BatchingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes the lines of one event-loop turn together, at the end of that turn.

    Outside a running event loop (start-up, other threads) a line is written at once, after
    any that wait, so the order of lines is kept.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._scheduled = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.append(line)

    def append(self, line: str) -> None:
        self._pending.append(line)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write()
            return
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self.flush)

    def flush(self) -> None:
        self.acquire()
        try:
            self._write()
        finally:
            self.release()

    def _write(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        try:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()
        except Exception:
            # Like StreamHandler: a closed or broken stderr must not take the server down.
            pass


_handler: _BatchingHandler | None = None


def write_pending() -> None:
    """Write the lines that wait for the end of this event-loop turn now."""
    if _handler is not None and _handler._pending:
        _handler.flush()


def info(logger: logging.Logger, message: str, function: str | None = None) -> None:
    """`logger.info(message)`, tagged with a function, for the lines every call logs."""
    if not logger.isEnabledFor(logging.INFO):
        return
    handler = _handler
    root = logger.parent
    if (handler is None or logger.handlers or logger.filters or logger.disabled
            or root is None or root.name != "fnurl" or root.handlers != [handler]
            or root.filters or handler.filters or handler.level > logging.INFO):
        # Someone else listens (a test's capture, an embedding app): the standard way.
        logger.info("%s", message, extra={"function": function} if function else None)
        return
    formatter = handler.formatter
    assert isinstance(formatter, _Formatter)
    with handler.lock or contextlib.nullcontext():
        handler.append(formatter.line(time.time(), "INFO", logger.name, function, message))


def configure(level: str = "INFO") -> None:
    global _handler

    # Skip what our format never prints (the caller's file and line, thread and process
    # names), the Logging HOWTO's own optimisations.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False

    handler = _handler = _BatchingHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger("fnurl")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
