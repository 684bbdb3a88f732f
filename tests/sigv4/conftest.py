"""A real fnurl server for the SigV4 tests that go through HTTP, and botocore-signed requests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

import httpx
import pytest
import yaml

from tests.servers import REPO, Server, start_server

OWNER = "111122223333"
ALICE = ("AKIAALICETAMPER00001", "alice/tamper+secret")
BOB = ("AKIABOBTAMPER0000002", "bob-tamper-secret")
URL_ID = "tampertampertampertampertampert1"
CODE = REPO / "tests" / "integration" / "project" / "functions" / "echo"
ALLOW_BOTH = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"],
     "Resource": "*"}]}

PROJECT = {
    "region": "us-east-1",
    "accounts": {OWNER: {"users": {
        "alice": {"access_keys": [{"id": ALICE[0], "secret": ALICE[1]}],
                  "policies": [ALLOW_BOTH]},
        "bob": {"access_keys": [{"id": BOB[0], "secret": BOB[1]}], "policies": [ALLOW_BOTH]},
    }}},
    "functions": {"target": {
        "account": OWNER, "handler": "app.echo", "code": str(CODE),
        "url": {"auth_type": "AWS_IAM", "id": URL_ID},
    }},
}


@pytest.fixture(scope="package")
def sigv4_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("sigv4")
    project_file = workdir / "fnurl.yaml"
    project_file.write_text(yaml.safe_dump(PROJECT))
    server = start_server(workdir, ["--config", str(project_file)])
    yield server
    server.stop()


@dataclass(frozen=True)
class Wire:
    """A request as it goes out: path (after the URL base) and query raw, headers as sent."""

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def with_header(self, name: str, value: str | None) -> Wire:
        """Replace `name` (any case), or drop it when `value` is None."""
        kept = {k: v for k, v in self.headers.items() if k.lower() != name.lower()}
        if value is not None:
            kept[name] = value
        return replace(self, headers=kept)

    def header(self, name: str) -> str:
        return next(v for k, v in self.headers.items() if k.lower() == name.lower())

    def send(self, server: Server) -> httpx.Response:
        target = server.path_url(URL_ID, self.path) + (f"?{self.query}" if self.query else "")
        # A hang would fail here rather than stall the suite.
        return httpx.request(self.method, target, headers=dict(self.headers),
                             content=self.body, timeout=10)


def auth_line(server: Server, response: httpx.Response) -> str:
    """The `fnurl.auth` log line about `response`'s request (written before the reply)."""
    request_id = response.headers["x-amzn-requestid"]
    for line in server.log().splitlines():
        if " fnurl.auth " in line and request_id in line:
            return line
    raise AssertionError(f"no fnurl.auth line for request {request_id}")
