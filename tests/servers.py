"""Real fnurl servers for tests: `fnurl serve` in a subprocess on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FNURL_SHARED", REPO.parent / "shared"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    banner: str = field(default="")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def path_url(self, url_id: str, path: str = "/") -> str:
        return f"{self.base}/_fnurl/{url_id}{path}"

    def host(self, url_id: str, region: str = "us-east-1") -> str:
        return f"{url_id}.lambda-url.{region}.localhost:{self.port}"

    def host_url(self, url_id: str, path: str = "/", region: str = "us-east-1") -> str:
        return f"http://{self.host(url_id, region)}{path}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    workdir: Path,
    args: Sequence[str] = (),
    *,
    command: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
) -> Server:
    """Start `fnurl serve` (or `command`) and wait until /_fnurl/health answers 200."""
    port = port or free_port()
    log_path = workdir / f"fnurl-{port}.log"
    if command is None:
        command = [sys.executable, "-m", "fnurl", "serve", "--port", str(port), *args]
    full_env = {**os.environ, **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command), cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=full_env
        )
    server = Server(process, port, log_path)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"fnurl exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.base}/_fnurl/health", timeout=1).status_code == 200:
                server.banner = server.log()
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"fnurl did not become healthy:\n{server.log()}")


def sign(
    method: str,
    url: str,
    *,
    key: str,
    secret: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    region: str = "us-east-1",
    service: str = "lambda",
    token: str | None = None,
) -> dict[str, str]:
    """Headers botocore's SigV4Auth adds for this request (Host included)."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials(key, secret, token), service, region).add_auth(request)
    signed = dict(request.headers.items())
    signed.setdefault("Host", httpx.URL(url).netloc.decode())
    return signed


def send_to_host(
    server: Server,
    method: str,
    url_id: str,
    path: str = "/",
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> httpx.Response:
    """Send to the host form (<url-id>.lambda-url.<region>.localhost) via 127.0.0.1."""
    all_headers = {"Host": server.host(url_id), **(headers or {})}
    return httpx.request(
        method, f"{server.base}{path}", headers=all_headers, content=body, timeout=30
    )
