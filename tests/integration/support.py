"""Helpers for tests that call the integration project's functions through a real server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from aws_lambda_powertools.utilities.parser.models import LambdaFunctionUrlModel

from tests.servers import Server


def url_of(server: Server, function: str, path: str = "/") -> str:
    urls = httpx.get(f"{server.base}/_fnurl/health", timeout=10).json()["urls"]
    return server.path_url(urls[function]["url_id"], path)


def validated(event: dict[str, Any]) -> dict[str, Any]:
    """The event, after Powertools' model of a function URL event has accepted it."""
    LambdaFunctionUrlModel.model_validate(event)
    return event


def wait_until(predicate: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll until predicate() holds; False if it still does not after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def log_lines(server: Server, request_id: str) -> list[str]:
    """The server's log lines that mention a request id, in order."""
    return [line for line in server.log().splitlines() if request_id in line]
