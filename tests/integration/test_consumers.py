"""Real consumers of function URL events, served through fnurl end to end.

Each handler first validates the event against Powertools' LambdaFunctionUrlModel, so a
drift in fnurl's event shape fails here as a 502.
"""

from __future__ import annotations

import httpx

from tests.integration.support import url_of
from tests.servers import Server, send_to_host

APP = "https://app.example"


class TestPowertoolsResolver:
    def test_a_route_with_a_path_parameter_and_query(self, project_server: Server) -> None:
        response = httpx.get(url_of(project_server, "powertools", "/orders/42?limit=5"),
                             headers={"Cookie": "a=1; b=2"}, timeout=30)

        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"id": "42", "limit": "5", "cookies": ["a=1", "b=2"],
                                   "sourceIp": "127.0.0.1"}

    def test_a_post_with_status_headers_and_cookies(self, project_server: Server) -> None:
        response = httpx.post(url_of(project_server, "powertools", "/orders"),
                              json={"item": "book"}, timeout=30)

        assert response.status_code == 201
        assert response.json() == {"created": {"item": "book"}}
        assert response.headers["location"] == "/orders/7"
        assert response.headers.get_list("set-cookie") == ["session=abc"]

    def test_a_binary_body(self, project_server: Server) -> None:
        response = httpx.get(url_of(project_server, "powertools", "/logo"), timeout=30)

        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert response.content == b"\x89PNG\r\n\x1a\n\x00"

    def test_an_unknown_route_is_the_resolvers_404(self, project_server: Server) -> None:
        response = httpx.get(url_of(project_server, "powertools", "/nowhere"), timeout=30)

        assert response.status_code == 404
        assert response.json()["message"] == "Not found"

    def test_host_form(self, project_server: Server) -> None:
        urls = httpx.get(f"{project_server.base}/_fnurl/health", timeout=10).json()["urls"]
        response = send_to_host(project_server, "GET", urls["powertools"]["url_id"],
                                "/orders/7")

        assert response.status_code == 200
        assert response.json()["id"] == "7"

    def test_cors_from_both_the_url_and_powertools_is_duplicated(
        self, project_server: Server
    ) -> None:
        # The browser-breaking duplication aws-powertools/powertools-lambda-python#4163
        # reported from AWS.
        response = httpx.get(url_of(project_server, "powertools", "/orders/1"),
                             headers={"Origin": APP}, timeout=30)

        assert response.headers.get_list("access-control-allow-origin") == [APP, APP]
        assert response.headers.get_list("access-control-expose-headers") == [
            "x-handler,x-owned"]


class TestFastApiWithMangum:
    def test_path_and_query_parameters(self, project_server: Server) -> None:
        response = httpx.get(url_of(project_server, "fastapi", "/items/3?q=red%20shoes"),
                             timeout=30)

        assert response.status_code == 200, response.text
        assert response.json() == {"item_id": 3, "q": "red shoes"}

    def test_a_json_post(self, project_server: Server) -> None:
        response = httpx.post(url_of(project_server, "fastapi", "/items"),
                              json={"name": "lamp"}, timeout=30)

        assert response.status_code == 201
        assert response.json() == {"received": {"name": "lamp"}, "type": "application/json"}

    def test_validation_errors_are_fastapis_422(self, project_server: Server) -> None:
        response = httpx.get(url_of(project_server, "fastapi", "/items/not-a-number"),
                             timeout=30)

        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["path", "item_id"]

    def test_several_cookies(self, project_server: Server) -> None:
        response = httpx.get(url_of(project_server, "fastapi", "/cookies"), timeout=30)

        cookies = response.headers.get_list("set-cookie")
        assert [c.split(";")[0] for c in cookies] == ["a=1", "b=2"]

    def test_a_binary_body(self, project_server: Server) -> None:
        response = httpx.get(url_of(project_server, "fastapi", "/binary"), timeout=30)

        assert response.status_code == 200
        assert response.content == b"\x00\x01\x02\xff"

    def test_a_binary_upload_arrives_intact(self, project_server: Server) -> None:
        # Sent base64 in the event; Mangum must decode it back for FastAPI.
        response = httpx.post(url_of(project_server, "fastapi", "/items"),
                              content=b'{"name": "\xc3\xa9"}',
                              headers={"Content-Type": "application/octet-stream"},
                              timeout=30)

        assert response.status_code == 201
        assert response.json() == {"received": {"name": "é"},
                                   "type": "application/octet-stream"}
