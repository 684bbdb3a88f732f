"""The baseline of bench/compare.py: a bare Starlette app with the benchmark handler's reply.

Run by compare.py as `python bench/bare_app.py PORT`, under uvicorn with the settings
`fnurl serve` uses, so that the difference measured is fnurl's own work.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# The same 19 bytes the benchmark's handler returns as its body.
BODY = b'{"message":"hello"}'


async def hello(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/{path:path}", hello, methods=["GET", "POST"])])


def main() -> None:
    # The same uvicorn settings as `fnurl serve` (src/fnurl/cli.py), log level included.
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info",
                access_log=False, server_header=False, lifespan="on")


if __name__ == "__main__":
    main()
