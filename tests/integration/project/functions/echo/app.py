"""Handlers the integration tests call through real function URLs."""

import base64
import json
import os
import time


def echo(event, context):
    """Reply with everything the handler saw."""
    seen = {
        "event": event,
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        "env": dict(os.environ),
        "cwd": os.getcwd(),
    }
    return {"statusCode": 200, "body": json.dumps(seen)}


REPLIES = {
    "proxy": {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain", "X-Custom": "yes", "X-Number": 3},
        "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
        "body": "created",
    },
    "status-string": {"statusCode": "418", "body": "teapot"},
    "no-content-type": {"statusCode": 200, "body": "plain"},
    "no-body": {"statusCode": 204},
    "base64": {
        "statusCode": 200,
        "headers": {"content-type": "application/octet-stream"},
        "body": base64.b64encode(b"\x00\x01binary\xff").decode(),
        "isBase64Encoded": True,
    },
    "lenient-base64": {"statusCode": 200, "body": "aGVs!!bG8=", "isBase64Encoded": True},
    "object-body": {"statusCode": 200, "body": {"not": "string"}},
    "set-cookie-header": {
        "statusCode": 200,
        "headers": {"Set-Cookie": "header=c"},
        "cookies": ["a=1; Path=/"],
        "body": "ok",
    },
    "bad-status": {"statusCode": 700, "body": "never"},
    "status-100": {"statusCode": 100, "body": "never"},
    "status-204-body": {"statusCode": 204, "body": "dropped"},
    "inject-header": {"statusCode": 200, "headers": {"x-evil": "a\r\nInjected: yes"}},
    "bad-header-name": {"statusCode": 200, "headers": {"bad name": "v"}},
    "empty-header-name": {"statusCode": 200, "headers": {"": "v"}},
    "cors-headers": {
        "statusCode": 200,
        "headers": {"Access-Control-Allow-Origin": "https://handler.example",
                    "Access-Control-Allow-Credentials": "false",
                    "Access-Control-Expose-Headers": "x-handler"},
        "body": "ok",
    },
    "huge": "x" * (6 * 1024 * 1024 + 1024),
    "string": "hello",
    "object": {"hello": "world"},
    "list": ["hello", 3, True],
    "number": 42,
    "float": 3.1,
    "true": True,
    "null": None,
}


def reply(event, context):
    kind = (event.get("queryStringParameters") or {}).get("kind", "object")
    if kind == "raise":
        raise ValueError("handler failed on purpose")
    if kind == "unserialisable":
        return {"when": object()}
    if kind == "sleep":
        time.sleep(5)
    if kind == "nap":
        time.sleep(0.5)
        return "rested"
    if kind == "exit":
        os._exit(3)
    if kind == "longprint":
        print("y" * 300_000, end="", flush=True)
        print("\nafter the long line", flush=True)
        return "printed"
    if kind == "print":
        print("line from the handler")
        return "printed"
    return REPLIES[kind]
