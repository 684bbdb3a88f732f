"""`fnurl explain --request`: a captured signed request, its signature and its decision."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HOST = "privateprivateprivateprivatepr01.lambda-url.us-east-1.localhost:9000"


def captured(key: str, secret: str, target: str = "/hello?b=2&a=1") -> bytes:
    request = AWSRequest(method="GET", url=f"http://{HOST}{target}")
    SigV4Auth(Credentials(key, secret), "lambda", "us-east-1").add_auth(request)
    lines = [f"GET {target} HTTP/1.1", *(f"{k}: {v}" for k, v in request.headers.items())]
    if not any(line.lower().startswith("host:") for line in lines):
        lines.insert(1, f"Host: {HOST}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def explain(tmp_path: Path, raw: bytes) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "request.http"
    path.write_bytes(raw)
    return subprocess.run([sys.executable, "-m", "fnurl", "explain", "--request", str(path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)


def test_valid_signature_is_explained_as_that_caller(tmp_path: Path) -> None:
    result = explain(tmp_path, captured("AKIABOBEXAMPLE000002", "bob-demo-secret"))

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Signature: valid (AKIABOBEXAMPLE000002")
    assert "Caller: arn:aws:iam::111122223333:user/bob" in result.stdout
    assert "403 Forbidden" in result.stdout


def test_alice_is_allowed(tmp_path: Path) -> None:
    result = explain(tmp_path, captured("AKIAALICEEXAMPLE0001", "alice-demo-secret"))

    assert result.returncode == 0, result.stderr
    assert "Allowed: the URL answers with the function's reply." in result.stdout


def test_a_changed_path_names_the_cause(tmp_path: Path) -> None:
    raw = captured("AKIABOBEXAMPLE000002", "bob-demo-secret", "/hello%20there")
    tampered = raw.replace(b"GET /hello%20there", b"GET /hello%20here")
    result = explain(tmp_path, tampered)

    assert result.returncode == 1
    assert "Signature: rejected, 403 InvalidSignatureException" in result.stdout
    assert "why: signature mismatch" in result.stdout
    assert "bob-demo-secret" not in result.stdout


def test_a_body_is_read_byte_for_byte_up_to_its_content_length(tmp_path: Path) -> None:
    body = b'{"lines": "a\r\nb"}'
    request = AWSRequest(method="POST", url=f"http://{HOST}/orders", data=body,
                         headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("AKIAALICEEXAMPLE0001", "alice-demo-secret"), "lambda",
              "us-east-1").add_auth(request)
    lines = ["POST /orders HTTP/1.1", f"Host: {HOST}", f"Content-Length: {len(body)}",
             *(f"{k}: {v}" for k, v in request.headers.items())]
    # Saved with LF line ends and the final newline an editor adds.
    raw = ("\n".join(lines) + "\n\n").encode() + body + b"\n"

    result = explain(tmp_path, raw)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Signature: valid (AKIAALICEEXAMPLE0001")
