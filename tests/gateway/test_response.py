"""Unit tests of reply mapping (spec section 3)."""

from __future__ import annotations

import pytest

from fnurl.gateway.response import InvalidReply, header_value, lenient_b64decode, map_reply


def test_header_values_are_stringified_like_aws() -> None:
    assert header_value(True) == "true"
    assert header_value(3) == "3"
    assert header_value({"bad": True}) == "{bad=true}"
    assert header_value(["a", 1]) == "[a, 1]"


def test_lenient_base64() -> None:
    assert lenient_b64decode("aGVs!!bG8=") == b"hello"
    assert lenient_b64decode("aGVsbG8") == b"hello"
    assert lenient_b64decode("!!!") == b""


@pytest.mark.parametrize("status", [700, 99, "abc", True, None, 200.5])
def test_invalid_status_codes(status: object) -> None:
    import json

    with pytest.raises(InvalidReply):
        map_reply(json.dumps({"statusCode": status}).encode())


def test_content_type_spelling_is_kept() -> None:
    status, headers, body = map_reply(
        b'{"statusCode":200,"headers":{"Content-Type":"text/html","X-Up":"a"},"body":"<p>"}'
    )

    assert (status, body) == (200, b"<p>")
    assert headers == [(b"Content-Type", b"text/html"), (b"x-up", b"a")]


def test_non_dict_headers_are_invalid() -> None:
    with pytest.raises(InvalidReply):
        map_reply(b'{"statusCode":200,"headers":["x"]}')


def test_dict_without_status_code_is_inferred() -> None:
    assert map_reply(b'{"body":"x"}') == (200, [(b"content-type", b"application/json")],
                                          b'{"body":"x"}')


def test_non_ascii_strings_pass_through() -> None:
    assert map_reply('"héllo"'.encode())[2] == "héllo".encode()


def test_a_handlers_copies_of_the_front_ends_own_headers_are_dropped() -> None:
    import json

    reply = {"statusCode": 200, "headers": {
        "Date": "Mon, 01 Jan 2001 00:00:00 GMT", "X-Amzn-RequestId": "mine",
        "x-amzn-trace-id": "Root=1-0-0", "Content-Length": "1", "x-kept": "yes",
    }}
    _, headers, _ = map_reply(json.dumps(reply).encode())

    assert [name for name, _ in headers] == [b"x-kept", b"content-type"]


def test_header_values_beyond_latin_1_go_out_as_utf_8() -> None:
    import json

    reply = {"statusCode": 200, "headers": {"x-latin": "café", "x-emoji": "ok ✓"},
             "cookies": ["name=✓"]}
    _, headers, _ = map_reply(json.dumps(reply).encode())

    assert (b"x-latin", "café".encode("latin-1")) in headers
    assert (b"x-emoji", "ok ✓".encode()) in headers
    assert (b"set-cookie", "name=✓".encode()) in headers
