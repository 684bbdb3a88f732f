"""CORS decisions and the config limits of spec section 5, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from fnurl import config
from fnurl.config import Cors
from fnurl.gateway import cors

CONFIG = Cors(allow_origins=["https://app.example"], allow_methods=["GET", "post"],
              allow_headers=["Content-Type"], expose_headers=["x-owned"], max_age=5)


def request(method: str = "OPTIONS", **headers: str) -> list[tuple[bytes, bytes]]:
    names = {"origin": b"origin", "acrm": b"access-control-request-method",
             "acrh": b"access-control-request-headers"}
    return [(names[k], v.encode()) for k, v in headers.items()]


@pytest.mark.parametrize(
    ("config_", "method", "headers", "expected"),
    [
        (CONFIG, "OPTIONS", {"origin": "o", "acrm": "GET"}, True),
        (CONFIG, "OPTIONS", {"origin": "o"}, False),
        (CONFIG, "OPTIONS", {"acrm": "GET"}, False),
        (CONFIG, "GET", {"origin": "o", "acrm": "GET"}, False),
        (None, "OPTIONS", {"origin": "o", "acrm": "GET"}, False),
    ],
)
def test_what_is_a_preflight(config_: Cors | None, method: str, headers: dict[str, str],
                             expected: bool) -> None:
    assert cors.is_preflight(config_, method, request(**headers)) is expected


def test_methods_and_headers_match_without_case() -> None:
    response = cors.preflight(
        CONFIG, request(origin="https://app.example", acrm="POST", acrh="content-type"), "id")

    names = [name for name, _ in response.raw_headers]
    assert b"access-control-allow-origin" in names
    assert dict(response.raw_headers)[b"access-control-allow-methods"] == b"GET,post"


def test_origins_match_exactly() -> None:
    response = cors.preflight(CONFIG, request(origin="https://APP.example", acrm="GET"), "id")

    assert [name for name, _ in response.raw_headers] == [
        b"content-type", b"content-length", b"x-amzn-requestid"]


def test_expose_headers_merge_into_the_handlers_line() -> None:
    headers = [(b"content-type", b"text/plain"), (b"access-control-expose-headers", b"x-a")]

    cors.decorate(CONFIG, request(origin="https://app.example"), headers)

    assert headers == [
        (b"content-type", b"text/plain"),
        (b"access-control-expose-headers", b"x-a,x-owned"),
        (b"access-control-allow-origin", b"https://app.example"),
        (b"vary", b"Origin"),
    ]


YAML = """
accounts: {"111122223333": {}}
functions:
  f:
    handler: app.handler
    code: .
    url:
      auth_type: NONE
      cors: {cors}
"""


@pytest.mark.parametrize(
    ("cors_yaml", "message"),
    [
        ("{allow_methods: [OPTIONS]}", "at most 6 characters"),
        ("{allow_methods: [GET, PUT, POST, HEAD, PATCH, DELETE, TRACE]}", "at most 6 items"),
        ("{allow_origins: ['']}", "1-253 characters"),
        ("{allow_origins: [" + "a" * 254 + "]}", "1-253 characters"),
        ("{allow_headers: [" + "h" * 1025 + "]}", "at most 1024 characters"),
        ("{expose_headers: [" + "h" * 1025 + "]}", "at most 1024 characters"),
        ("{max_age: 86401}", "less than or equal to 86400"),
        ("{max_age: -1}", "greater than or equal to 0"),
        ("{allow_credentials: maybe}", "bool"),
        ("{allow_origin: ['*']}", "unknown key 'allow_origin'"),
    ],
)
def test_config_limits(tmp_path: Path, cors_yaml: str, message: str) -> None:
    (tmp_path / "app.py").write_text("def handler(e, c): return 1\n")

    with pytest.raises(config.ConfigError) as caught:
        config.load(tmp_path / "fnurl.yaml", text=YAML.replace("{cors}", cors_yaml),
                    root=tmp_path)

    assert message in str(caught.value)
    assert "functions.f.url.cors" in str(caught.value)


def test_config_at_the_limits_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(e, c): return 1\n")
    limits = ("{allow_methods: ['*', GET, PUT, POST, PATCH, DELETE], allow_origins: ['*'], "
              "allow_headers: [" + "h" * 1024 + "], max_age: 86400}")

    loaded = config.load(tmp_path / "fnurl.yaml", text=YAML.replace("{cors}", limits),
                         root=tmp_path)

    assert loaded.project.functions["f"].url is not None
