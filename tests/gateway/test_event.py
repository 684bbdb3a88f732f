"""Unit tests of the payload 2.0 builder (the integration tests cover it through a server)."""

from __future__ import annotations

from fnurl.gateway.event import Caller, build_event, is_text, query_parameters

NOW = 1789475294.931


def event(**overrides: object) -> dict[str, object]:
    arguments: dict[str, object] = {
        "method": "GET", "raw_path": "/p", "raw_query": "", "headers": [], "body": b"",
        "source_ip": "203.0.113.9", "url_id": "u" * 32, "region": "eu-west-1",
        "request_id": "rid", "caller": None, "now": NOW,
    }
    arguments.update(overrides)
    return build_event(**arguments)  # type: ignore[arg-type]


def test_time_formats() -> None:
    context = event()["requestContext"]

    assert context["time"] == "15/Sep/2026:12:28:14 +0000"  # type: ignore[index]
    assert context["timeEpoch"] == 1789475294931  # type: ignore[index]


def test_head_and_options_get_no_content_length() -> None:
    assert "content-length" not in event(method="HEAD")["headers"]  # type: ignore[operator]
    assert "content-length" not in event(method="OPTIONS")["headers"]  # type: ignore[operator]
    assert event(method="GET")["headers"]["content-length"] == "0"  # type: ignore[index]


def test_authorization_removed_only_for_iam_callers() -> None:
    headers = [(b"authorization", b"AWS4-HMAC-SHA256 ..."), (b"x-amz-date", b"20260101T000000Z")]
    caller = Caller("AKIA", "111122223333", "AIDA", "arn:aws:iam::111122223333:user/a", "AIDA",
                    None)

    assert "authorization" in event(headers=headers)["headers"]  # type: ignore[operator]
    signed = event(headers=headers, caller=caller)
    assert "authorization" not in signed["headers"]  # type: ignore[operator]
    assert "x-amz-date" in signed["headers"]  # type: ignore[operator]
    assert signed["requestContext"]["accountId"] == "111122223333"  # type: ignore[index]


def test_client_forwarded_for_is_kept() -> None:
    headers = [(b"x-forwarded-for", b"198.51.100.1")]

    assert event(headers=headers)["headers"]["x-forwarded-for"] == (  # type: ignore[index]
        "198.51.100.1, 203.0.113.9")


def test_query_parameters() -> None:
    assert query_parameters("") is None
    assert query_parameters("a=1&a=2&b=%2F&c") == {"a": "1,2", "b": "/", "c": ""}
    assert query_parameters("&&") is None


def test_text_types() -> None:
    assert is_text("text/html; charset=utf-8")
    assert is_text("Application/JSON")
    assert is_text("application/problem+json")
    assert is_text("image/svg+xml")
    assert not is_text("application/x-www-form-urlencoded")
    assert not is_text(None)
    assert not is_text("application/octet-stream")


def test_invalid_utf8_text_goes_base64() -> None:
    built = event(method="POST", body=b"\xff\xfe", headers=[(b"content-type", b"text/plain")])

    assert built["isBase64Encoded"] is True
    assert built["body"] == "//4="


def test_header_values_are_read_as_utf_8_else_byte_for_byte() -> None:
    headers = [(b"x-utf8", "café ✓".encode()), (b"x-latin", "café".encode("latin-1"))]
    seen = event(headers=headers)["headers"]

    assert seen["x-utf8"] == "café ✓"  # type: ignore[index]
    assert seen["x-latin"] == "café"  # type: ignore[index]
