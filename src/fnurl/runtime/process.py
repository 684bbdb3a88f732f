"""Execution environments as worker processes, one invocation at a time each.

Each function gets its own processes, started on demand (a cold start) and kept warm for the
next call until they have been idle for `idle_timeout`. A process runs with Lambda's reserved
environment variables plus the function's own, in the function's code directory, and never
with the gateway's environment, so one function's settings or credentials cannot leak into
another. A change under a code directory retires the environments running that code, so the
next call runs the new code (hot reload).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import signal
import sys
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fnurl import logs
from fnurl.registry import LambdaFunction
from fnurl.runtime import (
    InvocationError,
    InvocationResult,
    Qualified,
    StreamEvent,
    StreamPrelude,
)
from fnurl.runtime import worker as protocol
from fnurl.runtime.reload import CodeWatcher

logger = logging.getLogger("fnurl.runtime")

DEFAULT_CONCURRENCY = 10
DEFAULT_IDLE_TIMEOUT = 300.0   # Lambda keeps idle environments for minutes (not documented)
INIT_TIMEOUT = 10.0            # Lambda's limit for the init phase of an environment
LOG_LINE_LIMIT = 256 * 1024    # longer output without a newline is logged in pieces
OUTPUT_SETTLE = 1.0            # how long END waits for the handler's last output line
MAX_STREAM_BYTES = 200 * 1024 * 1024   # RESPONSE_STREAM's limit per response
WORKER = Path(protocol.__file__)
_FINAL = (protocol.PAYLOAD, protocol.ERROR, protocol.DONE)


class Throttled(Exception):
    """No execution environment may be started for this call (reserved concurrency reached)."""


class _EnvironmentDied(Exception):
    pass


@dataclass(eq=False)
class _Environment:
    process: asyncio.subprocess.Process
    function: LambdaFunction
    generation: int
    init_ms: float = 0.0
    cold: bool = True
    max_rss_kb: int = 0
    idle_since: float = 0.0
    killed: bool = False                  # by the gateway: timeout, reload, reaping, shutdown
    init_failed: bool = False             # the handler could not be imported
    # Whose output the log relay is reading: set at START, cleared by the worker's marker.
    request_id: str | None = None
    output_done: asyncio.Event = field(default_factory=asyncio.Event)
    # The invocation's log lines, kept only when its caller asked for them (Invoke's Tail).
    captured: list[str] | None = None
    credentials_expire_at: float = float("inf")
    log_task: asyncio.Task[None] | None = None

    async def read_frame(self) -> tuple[bytes, bytes]:
        assert self.process.stdout is not None
        try:
            header = await self.process.stdout.readexactly(protocol.HEADER.size)
            (size,) = protocol.HEADER.unpack(header)
            frame = await self.process.stdout.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            raise _EnvironmentDied from exc
        return frame[:1], frame[1:]

    async def next_frame(self, deadline: float) -> tuple[bytes, bytes]:
        """The next frame that is not a memory report; TimeoutError past the deadline.

        `deadline` is on the event loop's clock (uvloop's is not time.monotonic()).
        """
        async with asyncio.timeout_at(deadline):
            while True:
                kind, body = await self.read_frame()
                if kind != protocol.MEMORY:
                    return kind, body
                self.max_rss_kb = int(json.loads(body)["max_rss_kb"])

    async def output_settled(self) -> None:
        """Wait (a little) for the worker's end-of-output marker to reach the log relay."""
        if not self.output_done.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(OUTPUT_SETTLE):
                    await self.output_done.wait()

    def kill(self) -> None:
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


@dataclass
class _Pool:
    idle: deque[_Environment] = field(default_factory=deque)
    size: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


def lambda_environment(function: LambdaFunction) -> dict[str, str]:
    """The variables Lambda sets for a function, then the function's own.

    Nothing else of the gateway's environment is passed on (its credentials, tokens or
    settings): only PATH, so that the handler can run programs, and PYTHONPATH, so that it
    imports what the gateway's Python does, as Lambda's runtime sees its layers.
    """
    stream = datetime.now(UTC).strftime("%Y/%m/%d") + f"/[$LATEST]{secrets.token_hex(16)}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "_HANDLER": function.handler,
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        "FNURL_FUNCTION_ARN": function.arn,
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update(function.environment)
    return env


def exit_message(returncode: int | None) -> str:
    """How Lambda words a runtime that exited (its Go front end formats the wait status)."""
    if returncode is None:
        return "Runtime exited without providing a reason"
    if returncode < 0:
        try:
            name = signal.strsignal(-returncode) or f"signal {-returncode}"
        except ValueError:
            name = f"signal {-returncode}"
        return f"Runtime exited with error: signal: {name.lower()}"
    if returncode == 0:
        return "Runtime exited without providing a reason"
    return f"Runtime exited with error: exit status {returncode}"


def _settings(function: LambdaFunction) -> tuple[Any, ...]:
    """What an environment was made with: a change to any of these needs a new one."""
    return (function.handler, function.code_dir, function.runtime, function.memory,
            function.region, function.role, tuple(sorted(function.environment.items())))


# The execution role's session for a function: its variables, and when they expire.
Credentials = Callable[[LambdaFunction], tuple[dict[str, str], float] | None]
CREDENTIALS_MARGIN = 300.0     # an environment is retired this long before its keys expire


class ProcessRuntime:
    """Runs handlers in warm worker processes, per function."""

    def __init__(
        self,
        *,
        default_concurrency: int = DEFAULT_CONCURRENCY,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        reload: bool = True,
    ) -> None:
        self._pools: dict[str, _Pool] = {}
        self._default_concurrency = default_concurrency
        self._idle_timeout = idle_timeout
        self._all: set[_Environment] = set()
        self._generations: dict[Path, int] = {}
        self._watcher = CodeWatcher(self._code_changed) if reload else None
        self._reaper: asyncio.Task[None] | None = None
        # Set by the server once STS exists; without it handlers get no credentials.
        self.credentials: Credentials | None = None

    async def start(self) -> None:
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._reap_idle())

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        if self._watcher is not None:
            await self._watcher.close()
        await asyncio.gather(*(self._retire(e) for e in list(self._all)))

    async def invoke(
        self, function: LambdaFunction, event: bytes, request_id: str, trace_id: str = "",
        *, with_log: bool = False, qualified: Qualified | None = None,
    ) -> InvocationResult:
        try:
            environment = await self._acquire(function)
        except _EnvironmentDied as exc:
            message = f"RequestId: {request_id} Error: {exc or 'Runtime exited during init'}"
            logger.error("%s", message, extra={"function": function.name})
            error = InvocationError("Runtime.ExitError", message)
            return InvocationResult(request_id, error=error)

        started = time.perf_counter()
        deadline = asyncio.get_running_loop().time() + function.timeout
        deadline_ms = int(time.time() * 1000) + function.timeout * 1000
        header = _invoke_header(request_id, deadline_ms, trace_id, qualified)
        environment.request_id = request_id
        environment.output_done.clear()
        version = qualified.version if qualified is not None and qualified.version else "$LATEST"
        start_line = f"START RequestId: {request_id} Version: {version}"
        environment.captured = [start_line] if with_log else None
        logs.info(logger, start_line, function.name)
        try:
            await self._send(environment, protocol.INVOKE + header + b"\n" + event)
            kind, body = await environment.next_frame(deadline)
        except (TimeoutError, _EnvironmentDied, ConnectionError) as exc:
            error = await self._fault(environment, request_id, exc)
            return await self._finish(environment, request_id, started, error=error)

        if kind == protocol.STREAM:
            stream = self._stream(environment, request_id, started, deadline)
            return InvocationResult(request_id, stream=stream)
        if kind == protocol.PAYLOAD:
            result = await self._finish(environment, request_id, started, payload=body)
        else:
            result = await self._finish(environment, request_id, started,
                                        error=_error_from(body))
        if environment.init_failed:
            # As Lambda does, the next call runs init again in a new environment.
            await self._retire(environment)
        else:
            await self._release(environment)
        return result

    async def _stream(
        self, environment: _Environment, request_id: str, started: float, deadline: float
    ) -> AsyncGenerator[StreamEvent, None]:
        """Relay a streaming handler's frames until the final one, then log END and REPORT."""
        error: InvocationError | None = None
        sent = 0
        state = "running"           # then "done" (the handler finished) or "failed"
        try:
            while True:
                try:
                    kind, body = await environment.next_frame(deadline)
                except (TimeoutError, _EnvironmentDied) as exc:
                    state = "failed"
                    error = await self._fault(environment, request_id, exc)
                    yield error
                    return
                if kind == protocol.CHUNK:
                    sent += len(body)
                    if sent > MAX_STREAM_BYTES:
                        state = "failed"
                        await self._retire(environment)
                        error = InvocationError(
                            "Function.ResponseSizeTooLarge",
                            f"Response size exceeded the limit of {MAX_STREAM_BYTES} bytes",
                        )
                        yield error
                        return
                    yield body
                elif kind == protocol.PRELUDE:
                    yield StreamPrelude(json.loads(body))
                elif kind in _FINAL:
                    state = "done"
                    if kind == protocol.ERROR:
                        error = _error_from(body)
                        yield error
                    return
        except GeneratorExit:
            # The reader stopped early (its client went away): the invocation runs on, as
            # on Lambda, and the environment is free again only when the handler is done.
            if state == "running":
                state = await self._drain(environment, deadline)
            raise
        finally:
            if state == "running":
                await self._retire(environment)   # cancelled: nobody waits for the handler
            await self._finish(environment, request_id, started, error=error)
            if state == "done":
                await self._release(environment)

    async def _drain(self, environment: _Environment, deadline: float) -> str:
        try:
            while (await environment.next_frame(deadline))[0] not in _FINAL:
                pass
        except (TimeoutError, _EnvironmentDied):
            await self._retire(environment)
            return "failed"
        return "done"

    async def _fault(
        self, environment: _Environment, request_id: str, exc: BaseException
    ) -> InvocationError:
        """The environment failed mid-invocation: retire it and say what Lambda would."""
        function = environment.function
        if isinstance(exc, TimeoutError):
            await self._retire(environment)
            logger.error("%s Task timed out after %.2f seconds", request_id,
                         float(function.timeout), extra={"function": function.name})
            return InvocationError("Sandbox.Timedout",
                                   f"RequestId: {request_id} Error: Task timed out after "
                                   f"{function.timeout:.2f} seconds")

        killed_by_us = environment.killed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(environment.process.wait(), timeout=2)
        code = environment.process.returncode
        await self._retire(environment)
        message = f"RequestId: {request_id} Error: {exit_message(code)}"
        error_type = "Runtime.ExitError"
        if code == -signal.SIGKILL and not killed_by_us:
            # The memory guard (or the kernel's OOM killer) ended it.
            error_type = "Runtime.OutOfMemory"
            environment.max_rss_kb = max(environment.max_rss_kb, function.memory * 1024)
        logger.error("%s %s", message, error_type, extra={"function": function.name})
        return InvocationError(error_type, message)

    async def _finish(
        self,
        environment: _Environment,
        request_id: str,
        started: float,
        *,
        payload: bytes | None = None,
        error: InvocationError | None = None,
    ) -> InvocationResult:
        function = environment.function
        duration = (time.perf_counter() - started) * 1000
        # END comes after the handler's last line, as in CloudWatch.
        await environment.output_settled()
        init = f"\tInit Duration: {environment.init_ms:.2f} ms" if environment.cold else ""
        environment.cold = False
        used_mb = max(1, round(environment.max_rss_kb / 1024))
        end_line = f"END RequestId: {request_id}"
        report_line = (
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {max(1, int(duration + 0.999))} ms\t"
            f"Memory Size: {function.memory} MB\tMax Memory Used: {used_mb} MB{init}"
        )
        logs.info(logger, end_line, function.name)
        logs.info(logger, report_line, function.name)
        log = ""
        if environment.captured is not None:
            log = "\n".join([*environment.captured, end_line, report_line]) + "\n"
            environment.captured = None
        return InvocationResult(request_id, payload=payload, error=error, duration_ms=duration,
                                log=log)

    async def _send(self, environment: _Environment, frame: bytes) -> None:
        stdin = environment.process.stdin
        assert stdin is not None
        stdin.write(protocol.HEADER.pack(len(frame)) + frame)
        await stdin.drain()

    def _current(self, environment: _Environment, function: LambdaFunction) -> bool:
        return (
            environment.process.returncode is None
            and environment.generation == self._generations.get(function.code_dir, 0)
            and _settings(environment.function) == _settings(function)
            and time.time() < environment.credentials_expire_at - CREDENTIALS_MARGIN
        )

    async def _acquire(self, function: LambdaFunction) -> _Environment:
        pool = self._pools.setdefault(function.name, _Pool())
        async with pool.changed:
            while True:
                while pool.idle:
                    # The most recently used first: the others can then idle out.
                    environment = pool.idle.pop()
                    if self._current(environment, function):
                        environment.idle_since = 0.0
                        return environment
                    self._drop(environment)

                if function.reserved_concurrency is not None:
                    if pool.size >= function.reserved_concurrency:
                        raise Throttled(function.name)
                    break
                # Without reserved concurrency Lambda scales far beyond what one machine
                # runs; queue for a warm environment instead of answering 429.
                if pool.size < self._default_concurrency:
                    break
                await pool.changed.wait()
            pool.size += 1

        try:
            return await self._spawn(function)
        except BaseException:
            async with pool.changed:
                pool.size -= 1
                pool.changed.notify()
            raise

    async def _release(self, environment: _Environment) -> None:
        pool = self._pools[environment.function.name]
        if environment not in self._all:
            return
        if environment.generation != self._generations.get(environment.function.code_dir, 0):
            await self._retire(environment)   # its code changed while it was busy
            return
        environment.idle_since = time.monotonic()
        async with pool.changed:
            pool.idle.append(environment)
            pool.changed.notify()

    def _drop(self, environment: _Environment) -> None:
        """Forget an environment and free its slot; it is killed but not waited for."""
        if environment in self._all:
            self._all.discard(environment)
            pool = self._pools[environment.function.name]
            pool.size -= 1
            with contextlib.suppress(ValueError):
                pool.idle.remove(environment)
        environment.kill()

    async def _retire(self, environment: _Environment) -> None:
        self._drop(environment)
        pool = self._pools[environment.function.name]
        async with pool.changed:
            pool.changed.notify()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(environment.process.wait(), timeout=2)
        if environment.log_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(environment.log_task, timeout=1)

    async def _spawn(self, function: LambdaFunction) -> _Environment:
        if self._watcher is not None:
            self._watcher.watch(function.code_dir)
        env = lambda_environment(function)
        expires_at = float("inf")
        session = None
        if self.credentials is not None:
            try:
                session = self.credentials(function)
            except Exception:
                # The store could not record the session (a full disk): run without keys.
                logger.exception("no credentials for %s's execution role", function.name)
        if session is not None:
            # As Lambda does: the execution role's session, in the standard variables.
            variables, expires_at = session
            env.update(variables)
        # -P: the worker's own directory must not lead the handler's sys.path.
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-P", str(WORKER),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=str(function.code_dir),
            limit=2**26,
        )
        generation = self._generations.get(function.code_dir, 0)
        environment = _Environment(process=process, function=function, generation=generation,
                                   credentials_expire_at=expires_at)
        spawned = time.perf_counter()
        environment.log_task = asyncio.create_task(self._relay_logs(environment))
        self._all.add(environment)
        try:
            _, body = await asyncio.wait_for(environment.read_frame(), timeout=INIT_TIMEOUT)
        except (_EnvironmentDied, TimeoutError) as exc:
            # _acquire gives the slot back; only forget the process here.
            self._all.discard(environment)
            environment.kill()
            if isinstance(exc, TimeoutError):
                logger.error("INIT timed out after %.2f seconds", INIT_TIMEOUT,
                             extra={"function": function.name})
                raise _EnvironmentDied("Runtime exited during init") from exc
            code = await environment.process.wait()
            logger.error("INIT failed: %s", exit_message(code), extra={"function": function.name})
            raise _EnvironmentDied(exit_message(code)) from exc
        # Init Duration covers what Lambda's does: starting the runtime and importing the
        # handler's module, not the invocation.
        environment.init_ms = (time.perf_counter() - spawned) * 1000
        ready = json.loads(body)
        environment.max_rss_kb = int(ready.get("max_rss_kb", 0))
        environment.init_failed = bool(ready.get("init_error"))
        await environment.output_settled()
        return environment

    async def _reap_idle(self) -> None:
        """Shut down environments idle for longer than idle_timeout, as Lambda does."""
        period = max(0.05, min(1.0, self._idle_timeout / 4))
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            expired = [
                environment for pool in self._pools.values() for environment in pool.idle
                if now - environment.idle_since >= self._idle_timeout
            ]
            for environment in expired:
                logger.info("shut down an environment idle for %.0f s",
                            now - environment.idle_since,
                            extra={"function": environment.function.name})
                self._drop(environment)   # no await since the check: it is still idle
            for environment in expired:
                await self._retire(environment)

    async def _code_changed(self, changed: Iterable[Path]) -> None:
        directories = set(changed)
        for directory in directories:
            self._generations[directory] = self._generations.get(directory, 0) + 1
        stale = [
            environment for pool in self._pools.values() for environment in pool.idle
            if environment.generation != self._generations.get(environment.function.code_dir, 0)
        ]
        names = sorted({e.function.name for e in self._all if e.function.code_dir in directories})
        if names:
            logger.info("code changed in %s: new environments for %s",
                        ", ".join(sorted(str(d) for d in directories)), ", ".join(names))
        for environment in stale:
            self._drop(environment)
        await asyncio.gather(*(self._retire(e) for e in stale))

    async def _relay_logs(self, environment: _Environment) -> None:
        stream = environment.process.stderr
        assert stream is not None
        marker = protocol.OUTPUT_MARKER
        pending = b""
        while True:
            chunk = await stream.read(65536)
            if not chunk:
                if pending:
                    self._log_line(environment, pending)
                environment.output_done.set()
                return
            pending += chunk
            while marker in pending:
                before, _, pending = pending.partition(marker)
                for line in before.split(b"\n"):
                    if line:
                        self._log_line(environment, line)
                environment.request_id = None
                environment.output_done.set()
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._log_line(environment, line)
            # Keep a marker's length back: one may be arriving in pieces.
            while len(pending) > LOG_LINE_LIMIT + len(marker):
                self._log_line(environment, pending[:LOG_LINE_LIMIT])
                pending = pending[LOG_LINE_LIMIT:]

    def _log_line(self, environment: _Environment, line: bytes) -> None:
        request_id = environment.request_id or "-"
        text = line.decode("utf-8", "replace").rstrip("\r")
        logger.info("%s %s", request_id, text, extra={"function": environment.function.name})
        if environment.captured is not None and environment.request_id is not None:
            environment.captured.append(text)


def _invoke_header(
    request_id: str, deadline_ms: int, trace_id: str, qualified: Qualified | None = None
) -> bytes:
    """The JSON header of an invoke frame, written without the encoder: it is on every call."""
    if qualified is None and _SAFE_ID.match(request_id) and _SAFE_ID.match(trace_id):
        return b'{"request_id": "%s", "deadline_ms": %d, "trace_id": "%s"}' % (
            request_id.encode(), deadline_ms, trace_id.encode())
    header: dict[str, Any] = {
        "request_id": request_id, "deadline_ms": deadline_ms, "trace_id": trace_id}
    if qualified is not None:
        if qualified.invoked_arn is not None:
            header["invoked_arn"] = qualified.invoked_arn
        if qualified.version is not None:
            header["version"] = qualified.version
        if qualified.client_context is not None:
            header["client_context"] = qualified.client_context
    return json.dumps(header).encode()


# What may go into the header's JSON strings as they are: no quote, backslash or control.
_SAFE_ID = re.compile(r"[A-Za-z0-9=;:.\-]*\Z")


def _error_from(body: bytes) -> InvocationError:
    details = json.loads(body)
    return InvocationError(
        details.get("errorType", "Error"),
        details.get("errorMessage", ""),
        tuple(details.get("stackTrace", [])),
    )
