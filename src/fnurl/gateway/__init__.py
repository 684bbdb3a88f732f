"""The ASGI gateway: function URLs on localhost, behaving as AWS's do."""

from fnurl.gateway.app import Gateway, create_app

__all__ = ["Gateway", "create_app"]
