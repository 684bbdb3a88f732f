"""Every case of the bundled demo, through a real server, as the banner tells users to try."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.servers import Server, send_to_host, sign, start_server

FORBIDDEN = (
    b'{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: '
    b'https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}'
)
KEYS = {
    "alice": ("AKIAALICEEXAMPLE0001", "alice-demo-secret"),
    "bob": ("AKIABOBEXAMPLE000002", "bob-demo-secret"),
    "example": ("AKIAEXAMPLEROLE00003", "example-demo-secret"),
    "auditor": ("AKIAAUDITOREXAMPL004", "auditor-demo-secret"),
}
PRIVATE = "privateprivateprivateprivatepr01"


def assert_forbidden(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.content == FORBIDDEN
    assert response.headers["x-amzn-errortype"] == "AccessDeniedException"
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("url_id", "status"),
    [
        ("publicpublicpublicpublicpublic01", 200),
        ("lockedlockedlockedlockedlocked01", 403),
        ("singlesinglesinglesinglesingle01", 403),
        ("legacylegacylegacylegacylegacy01", 200),
        (PRIVATE, 403),
    ],
)
def test_unsigned_calls(demo_server: Server, url_id: str, status: int) -> None:
    response = httpx.get(demo_server.path_url(url_id, "/hello"), timeout=30)

    assert response.status_code == status, response.text
    if status == 403:
        assert_forbidden(response)
    else:
        assert response.json()["caller"] == "anonymous"
        assert response.json()["path"] == "/hello"


@pytest.mark.parametrize(
    ("who", "status", "caller"),
    [
        ("alice", 200, "arn:aws:iam::111122223333:user/alice"),
        ("bob", 403, None),
        ("example", 200, "arn:aws:sts::444455556666:assumed-role/example/fnurl"),
        ("auditor", 403, None),
    ],
)
def test_signed_calls_host_form(demo_server: Server, who: str, status: int, caller: str) -> None:
    key, secret = KEYS[who]
    url = demo_server.host_url(PRIVATE, "/hello?name=demo")
    headers = sign("GET", url, key=key, secret=secret)

    response = send_to_host(demo_server, "GET", PRIVATE, "/hello?name=demo", headers=headers)

    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["caller"] == caller
        assert response.json()["query"] == {"name": "demo"}
    else:
        assert_forbidden(response)


def test_denial_is_logged_with_reason_and_principal(demo_server: Server) -> None:
    key, secret = KEYS["bob"]
    url = demo_server.path_url(PRIVATE, "/")
    response = httpx.get(url, headers=sign("GET", url, key=key, secret=secret), timeout=30)
    assert response.status_code == 403

    # The banner prints the demo's keys on purpose; the request log must not.
    log = demo_server.log()[len(demo_server.banner):]
    denial = [line for line in log.splitlines() if "fnurl.auth" in line and "user/bob" in line]
    assert denial, log
    assert "lambda:InvokeFunctionUrl" in denial[-1]
    assert "bob-demo-secret" not in log
    assert response.request.headers["authorization"].split("Signature=")[1] not in log


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize(("who", "status"), [("alice", 200), ("bob", 403), ("example", 200)])
def test_curl_aws_sigv4(demo_server: Server, who: str, status: int) -> None:
    key, secret = KEYS[who]
    result = subprocess.run(
        [
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
            "--aws-sigv4", "aws:amz:us-east-1:lambda", "--user", f"{key}:{secret}",
            demo_server.host_url(PRIVATE, "/hello"),
        ],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert result.stdout == str(status)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_post_json_signed(demo_server: Server) -> None:
    key, secret = KEYS["alice"]
    result = subprocess.run(
        [
            "curl", "-s", "--aws-sigv4", "aws:amz:us-east-1:lambda", "--user", f"{key}:{secret}",
            "-H", "content-type: application/json", "--data", '{"x": 1}',
            demo_server.host_url(PRIVATE, "/items"),
        ],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert '"method": "POST"' in result.stdout, result.stdout


def test_banner_prints_both_url_forms_and_commands(demo_server: Server) -> None:
    banner = demo_server.banner
    port = demo_server.port

    assert f"http://{PRIVATE}.lambda-url.us-east-1.localhost:{port}/" in banner
    assert f"http://127.0.0.1:{port}/_fnurl/{PRIVATE}/" in banner
    assert '--aws-sigv4 "aws:amz:us-east-1:lambda" --user "AKIAALICEEXAMPLE0001:' in banner
    assert banner.count("curl -i") == 9


def test_health(demo_server: Server) -> None:
    response = httpx.get(f"{demo_server.base}/_fnurl/health", timeout=10)

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["urls"]["private"]["auth_type"] == "AWS_IAM"


def test_unknown_url_id(demo_server: Server) -> None:
    for response in (
        httpx.get(demo_server.path_url("a" * 32), timeout=10),
        send_to_host(demo_server, "GET", "b" * 32),
        send_to_host(demo_server, "GET", "zzzz"),
    ):
        assert response.status_code == 403
        assert response.content == b'{"Message":null}'
        assert response.headers["x-amzn-errortype"] == "AccessDeniedException"


def test_wrong_region_in_host_is_unknown(demo_server: Server) -> None:
    response = httpx.get(
        f"{demo_server.base}/",
        headers={"Host": demo_server.host(PRIVATE, region="eu-west-1")},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.content == b'{"Message":null}'


def test_a_busy_port_is_one_clear_error_before_anything_starts(demo_server: Server,
                                                              tmp_path: Path) -> None:
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "fnurl", "serve", "--port", str(demo_server.port)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )

    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{demo_server.port}: Address already in use" in (
        result.stderr)
    assert "serving" not in result.stdout     # no banner for a server that never ran
    assert httpx.get(f"{demo_server.base}/_fnurl/health", timeout=10).status_code == 200


def test_the_control_plane_walkthrough_of_the_docs(tmp_path: Path) -> None:
    # docs/control-plane.md's first example, step by step, with boto3 for the CLI; on a
    # demo of its own, as it opens the locked URL.
    demo_server = start_server(tmp_path)
    try:
        walk_through(demo_server)
    finally:
        demo_server.stop()


def walk_through(demo_server: Server) -> None:

    def lam(key: str, secret: str) -> object:
        return boto3.client("lambda", endpoint_url=demo_server.base, region_name="us-east-1",
                            aws_access_key_id=key, aws_secret_access_key=secret)

    admin: Any = lam("AKIAADMINEXAMPLE0005", "admin-demo-secret")
    bob: Any = lam("AKIABOBEXAMPLE000002", "bob-demo-secret")
    locked = admin.get_function_url_config(FunctionName="locked")["FunctionUrl"]
    url_id = locked.split("//")[1].split(".")[0]

    admin.add_permission(FunctionName="locked", StatementId="url",
                         Action="lambda:InvokeFunctionUrl", Principal="*",
                         FunctionUrlAuthType="NONE")
    assert send_to_host(demo_server, "GET", url_id).status_code == 403
    admin.add_permission(FunctionName="locked", StatementId="invoke",
                         Action="lambda:InvokeFunction", Principal="*",
                         InvokedViaFunctionUrl=True)
    assert send_to_host(demo_server, "GET", url_id).status_code == 200

    with pytest.raises(ClientError) as denied:
        bob.invoke(FunctionName="locked")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    reply = admin.invoke(FunctionName="locked", Payload=b'{"a": 1}')
    assert json.loads(reply["Payload"].read()) == {"message": "Hello from locked",
                                                   "event": {"a": 1}}
