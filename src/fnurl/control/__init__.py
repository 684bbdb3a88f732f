"""The control plane: the Lambda API (and later STS) on the same port, governed by IAM."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fnurl.control.state import ControlState

if TYPE_CHECKING:
    from fnurl.gateway import Gateway


def install(gateway: Gateway, state: ControlState) -> None:
    """Serve the Lambda API on the gateway's non-URL hosts."""
    from fnurl.control.lambda_api import routes

    gateway.control.router.routes.extend(routes(state))


__all__ = ["ControlState", "install"]
