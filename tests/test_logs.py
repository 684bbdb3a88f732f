"""The server's log lines: format, order, and when they reach the stream."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import threading
from collections.abc import Iterator

import pytest

from fnurl import logs

LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+) +(\S+) (.*)")


@pytest.fixture
def stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    root = logging.getLogger("fnurl")
    saved = (root.handlers[:], root.level, root.propagate)
    logs.configure("INFO")
    yield out
    root.handlers[:], root.level, root.propagate = saved


def test_the_format_matches_the_standard_formatter(stream: io.StringIO) -> None:
    logging.getLogger("fnurl.runtime").info("START RequestId: %s", "r-1",
                                            extra={"function": "orders"})
    logging.getLogger("fnurl.access").warning("plain %d", 7)

    first, second = stream.getvalue().splitlines()
    assert LINE.fullmatch(first).groups() == (  # type: ignore[union-attr]
        "INFO", "fnurl.runtime", "[orders] START RequestId: r-1")
    assert LINE.fullmatch(second).groups() == (  # type: ignore[union-attr]
        "WARNING", "fnurl.access", "plain 7")

    record = logging.LogRecord("fnurl.x", logging.INFO, __file__, 1, "m %s", ("a",), None)
    standard = logging.Formatter(logs.FORMAT).format(record)
    assert logs._Formatter().format(record) == standard


def test_an_exception_keeps_its_traceback(stream: io.StringIO) -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("fnurl.gateway").exception("failed", extra={"function": "f"})

    text = stream.getvalue()
    assert "ERROR fnurl.gateway [f] failed\nTraceback" in text
    assert text.rstrip().endswith("ValueError: broken")


def test_lines_of_one_loop_turn_are_written_together_in_order(stream: io.StringIO) -> None:
    log = logging.getLogger("fnurl.runtime")
    seen_inside: list[str] = []

    async def turn() -> None:
        for n in range(3):
            log.info("line %d", n)
        seen_inside.append(stream.getvalue())
        await asyncio.sleep(0)      # the loop turns: the batch is written
        seen_inside.append(stream.getvalue())

    asyncio.run(turn())

    assert seen_inside[0] == ""
    assert [LINE.fullmatch(line).group(3) for line in seen_inside[1].splitlines()] == [  # type: ignore[union-attr]
        "line 0", "line 1", "line 2"]


def test_a_line_from_another_thread_is_written_at_once_after_those_waiting(
    stream: io.StringIO,
) -> None:
    log = logging.getLogger("fnurl.runtime")

    async def turn() -> str:
        log.info("from the loop")
        thread = threading.Thread(target=log.info, args=("from a thread",))
        thread.start()
        thread.join()
        return stream.getvalue()

    written = asyncio.run(turn())

    assert [LINE.fullmatch(line).group(3) for line in written.splitlines()] == [  # type: ignore[union-attr]
        "from the loop", "from a thread"]


def test_a_line_logged_as_the_loop_ends_is_written(stream: io.StringIO) -> None:
    async def last_turn() -> None:
        logging.getLogger("fnurl.runtime").info("last words")

    asyncio.run(last_turn())

    assert stream.getvalue().rstrip().endswith("last words")


def test_the_per_call_lines_read_the_same_by_either_path(
    stream: io.StringIO, caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("fnurl.runtime")

    logs.info(log, "REPORT RequestId: r-1\tDuration: 1.00 ms", "orders")   # fnurl's handler
    fast = stream.getvalue()
    assert LINE.fullmatch(fast.rstrip("\n")).groups() == (  # type: ignore[union-attr]
        "INFO", "fnurl.runtime", "[orders] REPORT RequestId: r-1\tDuration: 1.00 ms")

    logging.getLogger("fnurl").setLevel("WARNING")
    logs.info(log, "not shown", "orders")
    assert "not shown" not in stream.getvalue()

    # With another listener on the way, the line goes through the standard machinery.
    caplog.set_level(logging.INFO, logger="fnurl.runtime")
    logs.info(log, "END RequestId: r-1 100%", "orders")
    assert caplog.records[-1].getMessage() == "END RequestId: r-1 100%"
    assert caplog.records[-1].function == "orders"  # type: ignore[attr-defined]
