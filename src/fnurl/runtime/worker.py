"""The program inside one execution environment.

The gateway starts it as `python -P <this file>`: a script that imports nothing from fnurl,
so that a cold start pays only for the interpreter and the handler's own imports. It imports
the handler once (the init phase), then serves one invocation at a time over length-prefixed
frames on the stdin and stdout it was started with. Whatever the handler prints goes to
stderr, where the gateway attributes it to the function and request, as CloudWatch would.

Frames from the gateway: `I` + JSON header + newline + the event. Frames back, each a kind
byte then a body:

- `R` ready after init: JSON `{"init_ms", "max_rss_kb", "init_error"}`;
- `M` JSON `{"max_rss_kb"}`, the environment's peak memory, just before every final frame;
- `P` the reply as JSON (final); `E` Lambda's error document (final);
- `S` the handler returned an iterator, so a stream follows: `H` the prelude (JSON, at most
  once, first), `C` body bytes, then `D` (final) or `E` (final, the stream broke).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import struct
import sys
import threading
import time
from collections.abc import Iterator

# Not `typing.TYPE_CHECKING`: importing typing costs every cold start a few milliseconds.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO

HEADER = struct.Struct(">I")

READY = b"R"
MEMORY = b"M"
PAYLOAD = b"P"
ERROR = b"E"
STREAM = b"S"
PRELUDE = b"H"
CHUNK = b"C"
DONE = b"D"
INVOKE = b"I"

# Written to stderr after the output of the init phase and of each invocation, so the gateway
# knows which lines belong to which request and can log END after the handler's last line.
OUTPUT_MARKER = b"\x00fnurl:output-end\x00\n"
MEMORY_POLL_SECONDS = 0.01


class FunctionSettings:
    """What the context object says about the function: read from the environment once."""

    def __init__(self) -> None:
        self.name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.arn = os.environ["FNURL_FUNCTION_ARN"]
        self.memory = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]


class LambdaContext:
    """The context object Lambda's Python runtime passes as the second argument."""

    def __init__(self, request_id: str, deadline_ms: int, function: FunctionSettings) -> None:
        self.aws_request_id = request_id
        self.function_name = function.name
        self.function_version = function.version
        self.invoked_function_arn = function.arn
        # Lambda's runtime hands this over as the string it reads from the environment.
        self.memory_limit_in_mb = function.memory
        self.log_group_name = function.log_group
        self.log_stream_name = function.log_stream
        self.identity = None
        self.client_context: ClientContext | None = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def qualify(self, request: dict[str, Any]) -> None:
        """What a call through a version or alias, or with a ClientContext, changes."""
        if "invoked_arn" in request:
            self.invoked_function_arn = request["invoked_arn"]
        if "version" in request:
            self.function_version = request["version"]
        if "client_context" in request:
            self.client_context = ClientContext(request["client_context"])


class _Fields:
    def __init__(self, fields: dict[str, Any], names: tuple[str, ...]) -> None:
        for name in names:
            setattr(self, name, fields.get(name))


class ClientContext:
    """Invoke's ClientContext, with the attributes Lambda's Python runtime gives it."""

    def __init__(self, document: dict[str, Any]) -> None:
        client = document.get("client")
        self.client = None if client is None else _Fields(client, (
            "installation_id", "app_title", "app_version_name", "app_version_code",
            "app_package_name"))
        self.custom = document.get("custom")
        self.env = document.get("env")

    def log(self, message: str) -> None:
        sys.stdout.write(message)
        sys.stdout.flush()


# /proc/self/status, kept open: it is read at the end of every invocation, and reading an
# open proc file again from offset 0 regenerates it, without an open and close per call.
_status: tuple[int, int] | None = None     # (pid, fd)


def _vm_hwm_kb() -> int | None:
    global _status
    # A handler that forks: the child must read its own status, not the parent's.
    if _status is None or _status[0] != os.getpid():
        _status = (os.getpid(), os.open("/proc/self/status", os.O_RDONLY))
    text = os.pread(_status[1], 16384, 0)
    start = text.find(b"\nVmHWM:")
    if start < 0:
        return None
    end = text.find(b"\n", start + 1)
    return int(text[start + 7:end if end > 0 else None].split()[0])


def peak_rss_kb() -> int:
    """The most resident memory this process has used so far, in kilobytes."""
    # On Linux getrusage's ru_maxrss keeps the peak of the image before exec (the
    # gateway's); VmHWM is this program's own.
    with contextlib.suppress(OSError, ValueError, IndexError):
        peak = _vm_hwm_kb()
        if peak is not None:
            return peak
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # macOS counts bytes, the others kilobytes.
    return peak // 1024 if sys.platform == "darwin" else peak


class MemoryGuard:
    """The function's `memory` as a limit on the environment's peak resident memory.

    Lambda's cgroup kills an environment that goes over its memory size; here a thread
    watches the peak while init or an invocation runs and kills the process the same way
    (SIGKILL), which the gateway reports as Runtime.OutOfMemory.

    The thread is woken by the first invocation after a quiet spell and then polls for as
    long as invocations keep coming, so a busy environment pays no thread wake-up (and no
    contention for the GIL) per invocation.
    """

    QUIET_POLLS = 100       # polls without an invocation before the thread waits again

    def __init__(self, limit_mb: int) -> None:
        self.limit_kb = limit_mb * 1024
        self._busy = False
        self._polling = False
        self._wake = threading.Event()
        peak_rss_kb()   # opens /proc/self/status here, before a second thread may race to
        threading.Thread(target=self._watch, name="fnurl-memory", daemon=True).start()

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        self._busy = True
        if not self._polling:
            self._wake.set()
        try:
            yield
        finally:
            self._busy = False

    def check(self) -> int:
        """The peak so far, in kilobytes; over the limit, the process dies here."""
        peak = peak_rss_kb()
        if peak > self.limit_kb:
            os.kill(os.getpid(), signal.SIGKILL)
        return peak

    def _watch(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            self._polling = True
            quiet = 0
            while quiet < self.QUIET_POLLS:
                # Sleep first: most invocations end before the first poll, and their peak
                # is checked as they finish.
                time.sleep(MEMORY_POLL_SECONDS)
                if self._busy:
                    self.check()
                    quiet = 0
                else:
                    quiet += 1
            self._polling = False
            if self._busy:
                # An invocation began as the polling stopped and did not wake us.
                self._wake.set()


def send(channel: BinaryIO, kind: bytes, payload: bytes = b"", *more: bytes) -> None:
    """Write frames, given as kind and body pairs, and flush once."""
    for frame_kind, frame_body in zip((kind, *more[::2]), (payload, *more[1::2]), strict=True):
        channel.write(HEADER.pack(len(frame_body) + 1) + frame_kind)
        channel.write(frame_body)
    channel.flush()


def receive(channel: BinaryIO) -> bytes | None:
    header = channel.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    return channel.read(size)


def error_document(error_type: str, message: str, stack: list[str] | None = None) -> bytes:
    body = {"errorMessage": message, "errorType": error_type, "stackTrace": stack or []}
    return json.dumps(body).encode()


def exception_document(exc: BaseException) -> bytes:
    import traceback

    # Lambda's stack leaves out the runtime's own frame, which is this file's, and its log
    # line is the runtime's: [ERROR] type: message, then the handler's frames.
    frames = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
    lines = [f"[ERROR] {type(exc).__name__}: {exc}\n"]
    if frames:
        lines += ["Traceback (most recent call last):\n", *frames]
    sys.stderr.write("".join(lines))
    return error_document(type(exc).__name__, str(exc), frames)


def _json_default(value: Any) -> Any:
    # Lambda's runtime serialises Decimal (common with DynamoDB) as a number.
    import decimal

    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def load_handler(spec: str) -> tuple[Any, bytes | None]:
    module_name, _, function_name = spec.rpartition(".")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        return None, error_document(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc.msg} "
            f"({exc.filename}, line {exc.lineno})",
        )
    except ImportError as exc:
        return None, error_document(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        )
    except Exception as exc:
        import traceback

        return None, error_document(
            "Runtime.ImportModuleError",
            f"Unable to import module '{module_name}': {type(exc).__name__}: {exc}",
            traceback.format_exception(exc),
        )
    handler = getattr(module, function_name, None)
    if handler is None:
        return None, error_document(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return handler, None


def is_stream(result: Any) -> bool:
    """Whether a handler's reply is something to stream rather than to serialise.

    Any iterator qualifies (generators, `iter(...)`, open files); JSON cannot serialise one,
    so no reply that works on Lambda changes meaning.
    """
    return isinstance(result, Iterator)


def end_output() -> None:
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os.write(2, OUTPUT_MARKER)


class Worker:
    def __init__(self, channel: BinaryIO, guard: MemoryGuard) -> None:
        self.channel = channel
        self.guard = guard

    def finish(self, kind: bytes, body: bytes = b"") -> None:
        # A peak between two polls still counts, as it would against a cgroup limit.
        peak = self.guard.check()
        end_output()
        memory = json.dumps({"max_rss_kb": peak}).encode()
        send(self.channel, MEMORY, memory, kind, body)

    def invoke(self, handler: Any, event: Any, context: LambdaContext) -> None:
        with self.guard.watching():
            try:
                result = handler(event, context)
            except Exception as exc:
                self.finish(ERROR, exception_document(exc))
                return
            if is_stream(result):
                self.stream(result)
                return
            try:
                payload = json.dumps(result, default=_json_default, ensure_ascii=False)
            except (TypeError, ValueError) as exc:
                message = f"Unable to marshal response: {exc}"
                self.finish(ERROR, error_document("Runtime.MarshalError", message))
                return
        self.finish(PAYLOAD, payload.encode())

    def stream(self, chunks: Iterator[Any]) -> None:
        send(self.channel, STREAM)
        first = True
        try:
            for item in chunks:
                if first and isinstance(item, dict):
                    prelude = json.dumps(item, default=_json_default, ensure_ascii=False)
                    send(self.channel, PRELUDE, prelude.encode())
                elif isinstance(item, str):
                    send(self.channel, CHUNK, item.encode())
                elif isinstance(item, bytes | bytearray | memoryview):
                    send(self.channel, CHUNK, bytes(item))
                else:
                    raise TypeError(
                        f"a streaming handler yields bytes or str (a dict only first, as its "
                        f"prelude), got {type(item).__name__}"
                    )
                first = False
        except Exception as exc:
            _close(chunks)
            self.finish(ERROR, exception_document(exc))
            return
        _close(chunks)
        self.finish(DONE)


def _close(chunks: Iterator[Any]) -> None:
    # A generator stopped early runs its cleanup; a file handed back as the stream is closed.
    close = getattr(chunks, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            close()


def _die_with_the_gateway() -> None:
    # An environment must not outlive the gateway that started it (Ctrl+C, kill -9).
    if sys.platform != "linux":
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:
        os._exit(1)


def main() -> None:
    _die_with_the_gateway()
    channel_in = os.fdopen(os.dup(0), "rb")
    channel_out = os.fdopen(os.dup(1), "wb")
    # From here on, the handler's prints and reads never touch the protocol channel.
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)

    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path.insert(0, task_root)
    os.chdir(task_root)

    guard = MemoryGuard(int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]))
    started = time.perf_counter()
    with guard.watching():
        handler, init_error = load_handler(os.environ["_HANDLER"])
    init_ms = (time.perf_counter() - started) * 1000
    ready = {"init_ms": init_ms, "max_rss_kb": guard.check(), "init_error": bool(init_error)}
    end_output()
    send(channel_out, READY, json.dumps(ready).encode())

    worker = Worker(channel_out, guard)
    function = FunctionSettings()
    while True:
        frame = receive(channel_in)
        if frame is None:
            return
        header, _, event_bytes = frame[1:].partition(b"\n")
        request = json.loads(header)
        if init_error is not None:
            worker.finish(ERROR, init_error)
            continue
        context = LambdaContext(request["request_id"], request["deadline_ms"], function)
        context.qualify(request)
        if context.function_version != os.environ["AWS_LAMBDA_FUNCTION_VERSION"]:
            # Only a call through a version changes it: no putenv on every invocation.
            os.environ["AWS_LAMBDA_FUNCTION_VERSION"] = context.function_version
        # As Lambda's runtime does: the X-Ray SDK reads the invocation's trace from here.
        os.environ["_X_AMZN_TRACE_ID"] = request.get("trace_id", "")
        worker.invoke(handler, json.loads(event_bytes), context)


if __name__ == "__main__":
    main()
