"""Which function URL a request is for: by Host, or by the `/_fnurl/<url-id>` path form."""

from __future__ import annotations

import re
from dataclasses import dataclass

# <url-id>.lambda-url.<region>.<anything>: *.localhost resolves to 127.0.0.1 in curl and
# browsers, and a compose setup may use another domain. Any first label is a URL host, as
# AWS's wildcard name is: an id that names no URL is AWS's 403, not the control plane.
HOST_FORM = re.compile(rb"^([^./:]+)\.lambda-url\.([a-z0-9-]+)\.[^/]*$")
PATH_FORM = re.compile(rb"^/_fnurl/([a-z0-9]{32})(/.*)?$", re.DOTALL)
PATH_PREFIX = b"/_fnurl/"


@dataclass(frozen=True)
class UrlRoute:
    url_id: str
    region: str | None          # from the Host; None for the path form
    raw_path: bytes             # the path the function sees (prefix removed for the path form)
    form: str                   # "host" or "path"


def host_of(headers: list[tuple[bytes, bytes]]) -> bytes:
    for name, value in headers:
        if name == b"host":
            return value.lower()
    return b""


def route(raw_path: bytes, headers: list[tuple[bytes, bytes]]) -> UrlRoute | None:
    host = host_of(headers)
    match = HOST_FORM.match(host)
    if match:
        url_id, region = match.group(1).decode("latin-1"), match.group(2).decode()
        return UrlRoute(url_id, region, raw_path or b"/", "host")

    if raw_path.startswith(PATH_PREFIX):
        match = PATH_FORM.match(raw_path)
        if match:
            rest = match.group(2) or b"/"
            return UrlRoute(match.group(1).decode(), None, rest, "path")
    return None
