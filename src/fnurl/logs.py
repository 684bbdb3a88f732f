"""Logging set-up for `fnurl serve`: named loggers, one line per event."""

from __future__ import annotations

import logging
import sys


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        function = getattr(record, "function", None)
        if function is not None and not getattr(record, "_fnurl_tagged", False):
            record.msg = f"[{function}] {record.msg}"
            record._fnurl_tagged = True
        return super().format(record)


def configure(level: str = "INFO") -> None:
    # Every request logs several lines; skip what our format never prints (the caller's
    # file and line, thread and process names), the Logging HOWTO's own optimisations.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter("%(asctime)s %(levelname)-5s %(name)s %(message)s"))
    root = logging.getLogger("fnurl")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
