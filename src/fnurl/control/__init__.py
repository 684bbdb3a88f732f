"""The control plane: the Lambda API (and later STS) on the same port, governed by IAM."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Route

from fnurl.control.state import ControlState
from fnurl.control.sts import Sts

if TYPE_CHECKING:
    from fnurl.config import LoadedProject
    from fnurl.gateway import Gateway


def install(gateway: Gateway, state: ControlState, loaded: LoadedProject) -> Sts:
    """Serve the Lambda API and STS on the gateway's non-URL hosts."""
    from fnurl.control.lambda_api import routes
    sts = Sts(state, loaded)
    gateway.control.router.routes.extend(
        [*routes(state, gateway.runtime), Route("/", sts.handle, methods=["GET", "POST"])]
    )
    return sts


__all__ = ["ControlState", "install"]
