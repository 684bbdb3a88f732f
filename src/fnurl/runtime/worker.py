"""The program inside one execution environment (run as `python -m fnurl.runtime.worker`).

It imports the handler once (the init phase), then serves one invocation at a time over
length-prefixed frames on the stdout it was started with. Whatever the handler prints goes to
stderr, where the gateway attributes it to the function and request, as CloudWatch would.
"""

from __future__ import annotations

import contextlib
import decimal
import importlib
import json
import os
import struct
import sys
import time
import traceback
from typing import Any, BinaryIO

HEADER = struct.Struct(">I")


class LambdaContext:
    """The context object Lambda's Python runtime passes as the second argument."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = os.environ["FNURL_FUNCTION_ARN"]
        # Lambda's runtime hands this over as the string it reads from the environment.
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: str) -> None:
        sys.stdout.write(message)
        sys.stdout.flush()


def _send(channel: BinaryIO, kind: bytes, payload: bytes) -> None:
    channel.write(HEADER.pack(len(payload) + 1) + kind + payload)
    channel.flush()


def _receive(channel: BinaryIO) -> bytes | None:
    header = channel.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    return channel.read(size)


def _error(error_type: str, message: str, stack: list[str] | None = None) -> bytes:
    body = {"errorMessage": message, "errorType": error_type, "stackTrace": stack or []}
    return json.dumps(body).encode()


def _decimal_default(value: Any) -> Any:
    # Lambda's runtime serialises Decimal (common with DynamoDB) as a number.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _load_handler(spec: str) -> tuple[Any, bytes | None]:
    module_name, _, function_name = spec.rpartition(".")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        return None, _error(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc.msg} "
            f"({exc.filename}, line {exc.lineno})",
        )
    except ImportError as exc:
        return None, _error(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        )
    except Exception as exc:
        stack = traceback.format_exception(exc)
        return None, _error(
            "Runtime.ImportModuleError",
            f"Unable to import module '{module_name}': {type(exc).__name__}: {exc}",
            stack,
        )
    handler = getattr(module, function_name, None)
    if handler is None:
        return None, _error(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return handler, None


def _die_with_the_gateway() -> None:
    # An environment must not outlive the gateway that started it (Ctrl+C, kill -9).
    if sys.platform != "linux":
        return
    import ctypes
    import signal

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

    started = time.perf_counter()
    handler, init_error = _load_handler(os.environ["_HANDLER"])
    init_ms = (time.perf_counter() - started) * 1000
    _send(channel_out, b"R", json.dumps({"init_ms": init_ms}).encode())

    while True:
        frame = _receive(channel_in)
        if frame is None:
            return
        header, _, event_bytes = frame.partition(b"\n")
        request = json.loads(header)
        if init_error is not None:
            _send(channel_out, b"E", init_error)
            continue
        context = LambdaContext(request["request_id"], request["deadline_ms"])
        try:
            result = handler(json.loads(event_bytes), context)
        except Exception as exc:
            frames = traceback.extract_tb(exc.__traceback__)[1:]
            stack = traceback.format_list(frames)
            sys.stderr.write("".join(traceback.format_exception(exc)))
            _send(channel_out, b"E", _error(type(exc).__name__, str(exc), stack))
            continue
        try:
            payload = json.dumps(result, default=_decimal_default, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            _send(
                channel_out,
                b"E",
                _error("Runtime.MarshalError", f"Unable to marshal response: {exc}"),
            )
            continue
        _send(channel_out, b"P", payload.encode())


if __name__ == "__main__":
    main()
