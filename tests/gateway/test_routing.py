"""Which function URL a request is for."""

from __future__ import annotations

from fnurl.gateway.routing import route

URL_ID = "abcdefghijklmnopqrstuvwxyz012345"


def test_host_form() -> None:
    found = route(b"/a/b", [(b"host", f"{URL_ID}.lambda-url.eu-west-1.localhost:9000".encode())])

    assert found is not None
    assert (found.url_id, found.region, found.raw_path, found.form) == (
        URL_ID, "eu-west-1", b"/a/b", "host")


def test_host_form_is_case_insensitive() -> None:
    found = route(b"/", [(b"host", f"{URL_ID.upper()}.LAMBDA-URL.us-east-1.localhost".encode())])

    assert found is not None and found.url_id == URL_ID


def test_path_form_strips_the_prefix() -> None:
    found = route(f"/_fnurl/{URL_ID}/x%2Fy".encode(), [(b"host", b"127.0.0.1:9000")])
    bare = route(f"/_fnurl/{URL_ID}".encode(), [(b"host", b"127.0.0.1:9000")])

    assert found is not None and found.raw_path == b"/x%2Fy" and found.region is None
    assert bare is not None and bare.raw_path == b"/"


def test_other_requests_are_not_urls() -> None:
    assert route(b"/_fnurl/health", [(b"host", b"localhost:9000")]) is None
    assert route(b"/2015-03-31/functions", [(b"host", b"localhost:9000")]) is None
    assert route(f"/_fnurl/{URL_ID}x".encode(), []) is None



def test_any_first_label_of_a_url_host_is_a_url_that_may_not_exist() -> None:
    # AWS's name is a wildcard: a wrong id is answered 403 {"Message":null} like any unknown.
    found = route(b"/", [(b"host", b"short.lambda-url.us-east-1.localhost")])

    assert found is not None and found.url_id == "short" and found.form == "host"
    assert route(b"/", [(b"host", b".lambda-url.us-east-1.localhost")]) is None
