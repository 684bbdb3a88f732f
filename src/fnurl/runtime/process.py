"""Execution environments as worker processes, one invocation at a time each.

Each function gets its own processes, started on demand (a cold start) and kept warm for the
next call. A process runs with Lambda's reserved environment variables plus the function's
own, in the function's code directory, and never with the gateway's environment, so one
function's settings or credentials cannot leak into another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import struct
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fnurl.registry import LambdaFunction
from fnurl.runtime import InvocationError, InvocationResult

logger = logging.getLogger("fnurl.runtime")

HEADER = struct.Struct(">I")
DEFAULT_CONCURRENCY = 10
INIT_TIMEOUT = 10.0            # Lambda's limit for the init phase of an environment
LOG_LINE_LIMIT = 256 * 1024    # longer output without a newline is logged in pieces


class Throttled(Exception):
    """No execution environment may be started for this call (reserved concurrency reached)."""


class _EnvironmentDied(Exception):
    pass


@dataclass(eq=False)
class _Environment:
    process: asyncio.subprocess.Process
    function: LambdaFunction
    init_ms: float = 0.0
    cold: bool = True
    request_id: str | None = None
    log_task: asyncio.Task[None] | None = None

    async def read_frame(self) -> tuple[bytes, bytes]:
        assert self.process.stdout is not None
        try:
            header = await self.process.stdout.readexactly(HEADER.size)
            (size,) = HEADER.unpack(header)
            frame = await self.process.stdout.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            raise _EnvironmentDied from exc
        return frame[:1], frame[1:]

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


@dataclass
class _Pool:
    idle: deque[_Environment] = field(default_factory=deque)
    size: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


def lambda_environment(function: LambdaFunction) -> dict[str, str]:
    """The variables Lambda sets for a function, then the function's own."""
    stream = datetime.now(UTC).strftime("%Y/%m/%d") + f"/[$LATEST]{secrets.token_hex(16)}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "_HANDLER": function.handler,
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        "FNURL_FUNCTION_ARN": function.arn,
    }
    # The worker itself is part of fnurl; keep it importable when fnurl runs from a checkout.
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update(function.environment)
    return env


class ProcessRuntime:
    """Runs handlers in warm worker processes, per function."""

    def __init__(self, *, default_concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self._pools: dict[str, _Pool] = {}
        self._default_concurrency = default_concurrency
        self._all: set[_Environment] = set()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        for environment in list(self._all):
            await self._retire(environment)

    async def invoke(
        self, function: LambdaFunction, event: bytes, request_id: str
    ) -> InvocationResult:
        try:
            environment = await self._acquire(function)
        except _EnvironmentDied:
            message = f"RequestId: {request_id} Error: Runtime exited during init"
            logger.error("%s", message, extra={"function": function.name})
            error = InvocationError("Runtime.ExitError", message)
            return InvocationResult(request_id, error=error)
        started = time.perf_counter()
        deadline_ms = int(time.time() * 1000) + function.timeout * 1000
        request = (
            json.dumps({"request_id": request_id, "deadline_ms": deadline_ms}).encode()
            + b"\n"
            + event
        )
        environment.request_id = request_id
        logger.info("START RequestId: %s Version: $LATEST", request_id,
                    extra={"function": function.name})

        try:
            kind, body = await asyncio.wait_for(
                self._roundtrip(environment, request), timeout=function.timeout
            )
        except TimeoutError:
            await self._retire(environment)
            elapsed = time.perf_counter() - started
            logger.error("%s Task timed out after %.2f seconds", request_id, elapsed,
                         extra={"function": function.name})
            error = InvocationError("Sandbox.Timedout",
                                    f"Task timed out after {function.timeout:.2f} seconds")
            return self._finish(function, environment, request_id, started, error=error)
        except (_EnvironmentDied, ConnectionError, BrokenPipeError):
            await self._retire(environment)
            code = environment.process.returncode
            error = InvocationError(
                "Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited "
                                     f"with error: exit status {code}"
            )
            logger.error("%s %s", request_id, error.message, extra={"function": function.name})
            return self._finish(function, environment, request_id, started, error=error)

        await self._release(environment)
        if kind == b"P":
            return self._finish(function, environment, request_id, started, payload=body)
        details = json.loads(body)
        error = InvocationError(
            details.get("errorType", "Error"),
            details.get("errorMessage", ""),
            tuple(details.get("stackTrace", [])),
        )
        return self._finish(function, environment, request_id, started, error=error)

    def _finish(
        self,
        function: LambdaFunction,
        environment: _Environment,
        request_id: str,
        started: float,
        *,
        payload: bytes | None = None,
        error: InvocationError | None = None,
    ) -> InvocationResult:
        duration = (time.perf_counter() - started) * 1000
        init = f" Init Duration: {environment.init_ms:.2f} ms" if environment.cold else ""
        environment.cold = False
        logger.info("END RequestId: %s", request_id, extra={"function": function.name})
        logger.info(
            "REPORT RequestId: %s Duration: %.2f ms Billed Duration: %d ms "
            "Memory Size: %d MB%s",
            request_id, duration, max(1, int(duration + 0.999)), function.memory, init,
            extra={"function": function.name},
        )
        return InvocationResult(request_id, payload=payload, error=error, duration_ms=duration)

    async def _roundtrip(self, environment: _Environment, request: bytes) -> tuple[bytes, bytes]:
        assert environment.process.stdin is not None
        environment.process.stdin.write(HEADER.pack(len(request)) + request)
        await environment.process.stdin.drain()
        return await environment.read_frame()

    async def _acquire(self, function: LambdaFunction) -> _Environment:
        pool = self._pools.setdefault(function.name, _Pool())
        async with pool.changed:
            while True:
                while pool.idle:
                    environment = pool.idle.popleft()
                    if environment.process.returncode is None:
                        return environment
                    self._forget(environment)

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
            await self._give_back_slot(function.name)
            raise

    async def _give_back_slot(self, function_name: str) -> None:
        pool = self._pools[function_name]
        async with pool.changed:
            pool.size -= 1
            pool.changed.notify()

    async def _release(self, environment: _Environment) -> None:
        environment.request_id = None
        pool = self._pools[environment.function.name]
        async with pool.changed:
            pool.idle.append(environment)
            pool.changed.notify()

    def _forget(self, environment: _Environment) -> None:
        """Drop a dead environment and its slot (the caller holds the pool's lock)."""
        if environment in self._all:
            self._all.discard(environment)
            self._pools[environment.function.name].size -= 1
        environment.kill()

    async def _retire(self, environment: _Environment) -> None:
        if environment not in self._all:
            return
        self._all.discard(environment)
        environment.kill()
        pool = self._pools.get(environment.function.name)
        if pool is not None:
            async with pool.changed:
                pool.size -= 1
                with contextlib.suppress(ValueError):
                    pool.idle.remove(environment)
                pool.changed.notify()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(environment.process.wait(), timeout=2)
        if environment.log_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(environment.log_task, timeout=1)

    async def _spawn(self, function: LambdaFunction) -> _Environment:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "fnurl.runtime.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=lambda_environment(function),
            cwd=str(function.code_dir),
            limit=2**26,
        )
        environment = _Environment(process=process, function=function)
        spawned = time.perf_counter()
        environment.log_task = asyncio.create_task(self._relay_logs(environment))
        self._all.add(environment)
        try:
            await asyncio.wait_for(environment.read_frame(), timeout=INIT_TIMEOUT)
        except (_EnvironmentDied, TimeoutError) as exc:
            # _acquire gives the slot back; only forget the process here.
            self._all.discard(environment)
            environment.kill()
            if isinstance(exc, TimeoutError):
                logger.error("INIT timed out after %.2f seconds", INIT_TIMEOUT,
                             extra={"function": function.name})
            raise _EnvironmentDied from exc
        # Init Duration covers what Lambda's does: starting the runtime and importing the
        # handler's module, not the invocation.
        environment.init_ms = (time.perf_counter() - spawned) * 1000
        return environment

    async def _relay_logs(self, environment: _Environment) -> None:
        stream = environment.process.stderr
        assert stream is not None
        pending = b""
        while True:
            chunk = await stream.read(65536)
            if not chunk:
                if pending:
                    self._log_line(environment, pending)
                return
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._log_line(environment, line)
            while len(pending) > LOG_LINE_LIMIT:
                self._log_line(environment, pending[:LOG_LINE_LIMIT])
                pending = pending[LOG_LINE_LIMIT:]

    def _log_line(self, environment: _Environment, line: bytes) -> None:
        request_id = environment.request_id or "-"
        text = line.decode("utf-8", "replace").rstrip("\r")
        logger.info("%s %s", request_id, text, extra={"function": environment.function.name})
