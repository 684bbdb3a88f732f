"""Requests signed by independent SigV4 implementations, sent to a real fnurl server.

Each client signs the URL it is given, the way its users call it, and sends the request the
way it does. AWS accepts only a signature over its own canonical form (spec 7.5: the path
normalised and percent-encoded again; the query decoded, encoded again and sorted), so where a
client signs another form fnurl answers AWS's 403 too, and its `fnurl.auth` log line names
what the client did instead (docs/signing.md has the table):

- curl 7.88 signs the path exactly as sent and the query unsorted, as sent (newer curl sorts
  the query; the first version that does is not pinned down here, so only curl 7 is held to
  the refusals);
- awscurl 0.44 percent-encodes query escapes a second time (`%20` signs as `%2520`);
- botocore, requests-aws4auth, awscrt, npm aws4 and @smithy/signature-v4 sign SigV4's form.

Session tokens: the project file has no temporary keys yet, so the token-signed requests go to
a capturing server and through `sigv4.verify` with a `Credential` holding the token. Through
fnurl, a long-term key's request that carries a token gets the token refusal, which comes only
after the signature matched.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests
import yaml
from awscrt import auth as crt_auth
from awscrt import http as crt_http
from awscurl.awscurl import make_request as awscurl_request
from botocore.auth import S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.httpsession import URLLib3Session
from requests_aws4auth import AWS4Auth

from fnurl import sigv4
from tests.servers import REPO, Server, start_server

REGION = "us-east-1"
OWNER = "111122223333"
PARTNER = "444455556666"
ORG = "o-signers0001"
KEY, SECRET = "AKIASIGNERSEXAMPLE01", "signers/secret+key=="
PARTNER_KEY, PARTNER_SECRET = "AKIAPARTNERSIGNER002", "partner-secret"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//signers+token/with=="
URL_ID = "signerssignerssignerssignerssig1"
CODE = REPO / "tests" / "integration" / "project" / "functions" / "echo"
NODE_DIR = REPO / "tests" / "node"
NODE_PACKAGES = ("aws4", "@smithy/signature-v4", "@smithy/hash-node")
BOTH = ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"]

PROJECT = {
    "region": REGION,
    "organization": {"id": ORG},
    "accounts": {
        OWNER: {"users": {"signer": {
            "path": "/team/",
            "access_keys": [{"id": KEY, "secret": SECRET}],
            "policies": [{"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": BOTH, "Resource": "*"}]}],
        }}},
        PARTNER: {"users": {"partner": {
            "access_keys": [{"id": PARTNER_KEY, "secret": PARTNER_SECRET}],
            "policies": [{"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": BOTH, "Resource": "*"}]}],
        }}},
    },
    "functions": {"signed": {
        "account": OWNER, "handler": "app.echo", "code": str(CODE),
        "url": {"auth_type": "AWS_IAM", "id": URL_ID},
        "policy": [{"Sid": "Partner", "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"}, "Action": BOTH}],
    }},
}


# ---------------------------------------------------------------- requests and clients


@dataclass(frozen=True)
class Case:
    """One request; `target` is the path and query after the URL's base, as a user writes it."""

    name: str
    method: str
    target: str
    body: bytes = b""
    content_type: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"content-type": self.content_type} if self.content_type else {}


CASES = [
    Case("get-repeated", "GET", "/items?tag=b&tag=a&limit=10"),
    # Sorted on purpose, so that clients which keep the query as written are judged on the
    # escapes alone.
    Case("get-reserved", "GET", "/search?e=&n=%C3%A9&q=a%2Fb%20c&r=%28x%29%21%27%2A"),
    Case("post-json", "POST", "/orders?mode=sync", '{"item": 1, "note": "café"}'.encode(),
         "application/json"),
    Case("post-form", "POST", "/form", b"name=caf%C3%A9&note=a+b&x=1",
         "application/x-www-form-urlencoded"),
    Case("path-space", "GET", "/a%20b/c%20d"),
    Case("path-reserved", "GET", "/it's/(1)!*"),
    Case("path-non-ascii", "GET", "/caf%C3%A9/%E2%9C%93"),
    Case("path-encoded-slash", "GET", "/a%2Fb/c"),
]
PRESIGN_CASE = Case("presigned", "GET", "/shared?q=a%20b&a=1")


@dataclass(frozen=True)
class Keys:
    key: str
    secret: str
    token: str | None = None


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Each client reports header names in its own case.
        self.headers = {name.lower(): value for name, value in self.headers.items()}


Client = Callable[[str, Case, Keys], Reply]


def send_raw(base: str, method: str, target: str, headers: list[tuple[str, str]],
             body: bytes) -> Reply:
    """Send exactly this request line and these headers (for signers that do not send)."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body and not any(name.lower() == "content-length" for name, _ in headers):
            connection.putheader("content-length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        return Reply(response.status, response.read(), dict(response.getheaders()))
    finally:
        connection.close()


def botocore_client(base: str, case: Case, keys: Keys) -> Reply:
    request = AWSRequest(case.method, base + case.target, data=case.body, headers=case.headers)
    SigV4Auth(Credentials(keys.key, keys.secret, keys.token), "lambda", REGION).add_auth(request)
    response = URLLib3Session().send(request.prepare())
    return Reply(response.status_code, response.content, dict(response.headers))


def requests_aws4auth_client(base: str, case: Case, keys: Keys) -> Reply:
    auth = AWS4Auth(keys.key, keys.secret, REGION, "lambda", session_token=keys.token)
    response = requests.request(case.method, base + case.target, data=case.body or None,
                                headers=case.headers, auth=auth, timeout=30)
    return Reply(response.status_code, response.content, dict(response.headers))


def awscrt_client(base: str, case: Case, keys: Keys) -> Reply:
    url = urlsplit(base)
    headers = crt_http.HttpHeaders([("host", url.netloc), *case.headers.items()])
    if case.body:
        headers.add("content-length", str(len(case.body)))
    request = crt_http.HttpRequest(case.method, url.path + case.target, headers,
                                   io.BytesIO(case.body))
    provider = crt_auth.AwsCredentialsProvider.new_static(keys.key, keys.secret, keys.token)
    config = crt_auth.AwsSigningConfig(credentials_provider=provider, region=REGION,
                                       service="lambda")
    crt_auth.aws_sign_request(request, config).result(10)
    return send_raw(base, case.method, request.path, list(request.headers), case.body)


def curl_client(base: str, case: Case, keys: Keys) -> Reply:
    command = [
        "curl", "-sS", "-g", "-D", "-", "-X", case.method,
        "--aws-sigv4", f"aws:amz:{REGION}:lambda", "--user", f"{keys.key}:{keys.secret}",
        "--write-out", "\n%{http_code}",
    ]
    if keys.token:
        command += ["-H", f"x-amz-security-token: {keys.token}"]
    for name, value in case.headers.items():
        command += ["-H", f"{name}: {value}"]
    if case.body:
        command += ["--data-binary", "@-"]
    done = subprocess.run([*command, base + case.target], input=case.body,
                          capture_output=True, timeout=30, check=True)

    # -D - writes the response head first; --write-out puts the status after the body.
    head, _, rest = done.stdout.partition(b"\r\n\r\n")
    body, _, status = rest.rpartition(b"\n")
    headers = {}
    for line in head.decode("latin-1").splitlines()[1:]:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return Reply(int(status), body, headers)


def awscurl_client(base: str, case: Case, keys: Keys) -> Reply:
    # The function awscurl's command line calls, in-process: the command prints no status.
    # The headers are the ones the command line sends when -H names none.
    headers = {"Accept": "application/xml", "Content-Type": case.content_type or "application/json"}
    response = awscurl_request(case.method, "lambda", REGION, base + case.target, headers,
                               case.body.decode(), keys.key, keys.secret, keys.token, False)
    return Reply(response.status_code, response.content, dict(response.headers))


class NodeSigner:
    """tests/node/sign.mjs, started once and kept up: Node takes a quarter second to start."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None

    def sign(self, job: dict[str, Any]) -> dict[str, Any]:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                ["node", str(NODE_DIR / "sign.mjs")], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True,
            )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line.startswith("{"):
            # A missing package: sign.mjs says which, then exits.
            raise AssertionError(f"sign.mjs: {line.strip()} (exit {self.process.wait(10)})")
        signed: dict[str, Any] = json.loads(line)
        return signed

    def close(self) -> None:
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(10)


NODE = NodeSigner()


@pytest.fixture(scope="module", autouse=True)
def _stop_node() -> Iterator[None]:
    yield
    NODE.close()


def node_sign(signer: str, base: str, case: Case, keys: Keys,
              presign: bool = False) -> tuple[str, list[tuple[str, str]]]:
    url = urlsplit(base)
    signed = NODE.sign({
        "signer": signer, "presign": presign, "method": case.method, "host": url.netloc,
        "target": url.path + case.target, "headers": case.headers,
        "body": base64.b64encode(case.body).decode(), "accessKeyId": keys.key,
        "secretAccessKey": keys.secret, "sessionToken": keys.token, "region": REGION,
        "service": "lambda",
    })
    return signed["target"], [(name, value) for name, value in signed["headers"]]


def node_client(signer: str) -> Client:
    def run(base: str, case: Case, keys: Keys) -> Reply:
        target, headers = node_sign(signer, base, case, keys)
        return send_raw(base, case.method, target, headers, case.body)

    return run


def botocore_presigner(query_auth: type[SigV4QueryAuth]) -> Client:
    def run(base: str, case: Case, keys: Keys) -> Reply:
        request = AWSRequest(case.method, base + case.target)
        credentials = Credentials(keys.key, keys.secret, keys.token)
        query_auth(credentials, "lambda", REGION, expires=300).add_auth(request)
        response = URLLib3Session().send(request.prepare())
        return Reply(response.status_code, response.content, dict(response.headers))

    return run


def awscrt_presign(base: str, case: Case, keys: Keys) -> Reply:
    url = urlsplit(base)
    request = crt_http.HttpRequest(case.method, url.path + case.target,
                                   crt_http.HttpHeaders([("host", url.netloc)]))
    provider = crt_auth.AwsCredentialsProvider.new_static(keys.key, keys.secret, keys.token)
    config = crt_auth.AwsSigningConfig(
        signature_type=crt_auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS,
        credentials_provider=provider, region=REGION, service="lambda",
        expiration_in_seconds=300,
    )
    crt_auth.aws_sign_request(request, config).result(10)
    return send_raw(base, case.method, request.path, list(request.headers), b"")


def node_presigner(signer: str) -> Client:
    def run(base: str, case: Case, keys: Keys) -> Reply:
        target, headers = node_sign(signer, base, case, keys, presign=True)
        return send_raw(base, case.method, target, headers, b"")

    return run


PRESIGNERS: dict[str, Client] = {
    "botocore SigV4QueryAuth": botocore_presigner(SigV4QueryAuth),
    "botocore S3SigV4QueryAuth": botocore_presigner(S3SigV4QueryAuth),
    "awscrt": awscrt_presign,
    "node-aws4": node_presigner("aws4"),
    "node-smithy": node_presigner("smithy"),
}


CLIENTS: dict[str, Client] = {
    "botocore": botocore_client,
    "requests-aws4auth": requests_aws4auth_client,
    "awscrt": awscrt_client,
    "curl": curl_client,
    "node-aws4": node_client("aws4"),
    "node-smithy": node_client("smithy"),
    "awscurl": awscurl_client,
}


# ---------------------------------------------------------------- servers


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("signers")
    project_file = workdir / "fnurl.yaml"
    project_file.write_text(yaml.safe_dump(PROJECT, allow_unicode=True))
    running = start_server(workdir, ["--config", str(project_file)])
    yield running
    running.stop()


@dataclass
class Captured:
    method: str
    target: str
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def as_request(self) -> sigv4.HttpRequest:
        path, _, query = self.target.partition("?")
        return sigv4.HttpRequest(self.method, path.encode("latin-1"), query.encode("latin-1"),
                                 self.headers, self.body)


class _Capture(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[Captured]

    def _record(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = [(name.lower().encode("latin-1"), value.encode("latin-1"))
                   for name, value in self.headers.items()]
        self.seen.append(Captured(self.command, self.path, headers, body))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    do_GET = do_POST = _record

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def capture() -> Iterator[tuple[str, list[Captured]]]:
    """A server that answers 200 to anything and keeps each request exactly as it came."""
    seen: list[Captured] = []
    handler = type("Capture", (_Capture,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/_fnurl/{URL_ID}", seen
    httpd.shutdown()
    httpd.server_close()


def auth_log(server: Server, reply: Reply) -> str:
    """The `fnurl.auth` line about this reply's request (written before the reply is sent)."""
    request_id = reply.headers.get("x-amzn-requestid")
    assert request_id is not None, f"no request id in the reply: {reply}"
    for line in server.log().splitlines():
        if " fnurl.auth " in line and request_id in line:
            return line
    raise AssertionError(f"no fnurl.auth line for request {request_id}")


# ---------------------------------------------------------------- what AWS would say


def curl_version() -> tuple[int, ...] | None:
    if shutil.which("curl") is None:
        return None
    first = subprocess.run(["curl", "--version"], capture_output=True, text=True,
                           check=True).stdout.split()
    return tuple(int(part) for part in first[1].split(".")[:3])


CURL = curl_version()

# (client, request) -> words the `fnurl.auth` line must hold; every other pair is let in.
REFUSED = {
    ("curl", "get-repeated"): "query unsorted, as sent",
    ("curl", "path-space"): "path not percent-encoded a second time",
    ("curl", "path-reserved"): "path not percent-encoded a second time",
    ("curl", "path-non-ascii"): "path not percent-encoded a second time",
    ("curl", "path-encoded-slash"): "path not percent-encoded a second time",
    ("awscurl", "get-reserved"): "query escapes percent-encoded twice",
}
PRESIGN_REFUSED = {"botocore S3SigV4QueryAuth": "payload hash UNSIGNED-PAYLOAD"}


def needs(client: str) -> None:
    """Skip a client this machine lacks; in CI, where .ci/run installs them, fail instead."""
    if client == "curl" and CURL is None:
        pytest.skip("curl is not installed")
    if not client.startswith("node-"):
        return

    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    modules = NODE_DIR / "node_modules"
    if not all((modules / name).is_dir() for name in NODE_PACKAGES):
        message = "the Node signers are not installed: npm install --prefix tests/node"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def lenient(client: str) -> bool:
    # Only curl 7 is known to sign these forms; a newer curl may sign AWS's form.
    return client == "curl" and CURL is not None and CURL[0] >= 8


def base_of(server: Server) -> str:
    return server.path_url(URL_ID, "").rstrip("/")


def sent_body(event: dict[str, Any]) -> bytes:
    body = event.get("body", "")
    return base64.b64decode(body) if event["isBase64Encoded"] else str(body).encode()


def assert_block(iam: dict[str, Any], key: str, account: str, arn: str) -> None:
    """The `authorizer.iam` block of spec 2.3, keys in AWS's order."""
    assert list(iam) == ["accessKey", "accountId", "callerId", "cognitoIdentity",
                         "principalOrgId", "userArn", "userId"]
    assert (iam["accessKey"], iam["accountId"], iam["userArn"]) == (key, account, arn)
    assert iam["callerId"] == iam["userId"]
    assert iam["userId"].startswith("AIDA") and len(iam["userId"]) == 21
    assert iam["userId"].isalnum() and iam["userId"].isupper()
    assert iam["cognitoIdentity"] is None
    assert iam["principalOrgId"] == ORG


# ---------------------------------------------------------------- through fnurl

PAIRS = [(client, case) for client in CLIENTS for case in CASES]


@pytest.mark.parametrize(("client", "case"), PAIRS,
                         ids=[f"{client}-{case.name}" for client, case in PAIRS])
def test_signed_request(server: Server, client: str, case: Case) -> None:
    needs(client)

    reply = CLIENTS[client](base_of(server), case, Keys(KEY, SECRET))

    cause = REFUSED.get((client, case.name))
    if cause is None or (lenient(client) and reply.status == 200):
        assert reply.status == 200, auth_log(server, reply)
        event = json.loads(reply.body)["event"]
        path = case.target.partition("?")[0]
        assert unquote(event["rawPath"]) == unquote(path)
        assert sent_body(event) == case.body
        assert_block(event["requestContext"]["authorizer"]["iam"], KEY, OWNER,
                     f"arn:aws:iam::{OWNER}:user/team/signer")
        return

    assert reply.status == 403
    assert reply.headers.get("x-amzn-errortype") == "InvalidSignatureException"
    assert json.loads(reply.body)["message"].startswith("The request signature we calculated")
    line = auth_log(server, reply)
    assert "InvalidSignatureException: signature mismatch: the client signed the" in line
    assert cause in line


@pytest.mark.parametrize("client", CLIENTS)
def test_token_with_a_long_term_key_is_refused_after_the_signature(server: Server,
                                                                   client: str) -> None:
    # fnurl checks the token only once the signature matched, so this refusal shows that
    # the client's signature over x-amz-security-token verified through the server.
    needs(client)
    case = next(case for case in CASES if case.name == "post-json")

    reply = CLIENTS[client](base_of(server), case, Keys(KEY, SECRET, TOKEN))

    assert reply.status == 403
    assert reply.headers.get("x-amzn-errortype") == "UnrecognizedClientException"
    line = auth_log(server, reply)
    assert f"session token sent with long-term access key {KEY}" in line


@pytest.mark.parametrize("presigner", PRESIGNERS)
def test_presigned_request(server: Server, presigner: str) -> None:
    needs(presigner)

    reply = PRESIGNERS[presigner](base_of(server), PRESIGN_CASE, Keys(KEY, SECRET))

    cause = PRESIGN_REFUSED.get(presigner)
    if cause is None:
        assert reply.status == 200, auth_log(server, reply)
        event = json.loads(reply.body)["event"]
        assert "X-Amz-Signature=" in event["rawQueryString"]
        assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == KEY
        return

    assert reply.status == 403
    line = auth_log(server, reply)
    assert "InvalidSignatureException" in line and cause in line


def test_authorizer_block_names_a_caller_from_another_account(server: Server) -> None:
    case = next(case for case in CASES if case.name == "post-json")

    reply = botocore_client(base_of(server), case, Keys(PARTNER_KEY, PARTNER_SECRET))

    assert reply.status == 200, auth_log(server, reply)
    iam = json.loads(reply.body)["event"]["requestContext"]["authorizer"]["iam"]
    assert_block(iam, PARTNER_KEY, PARTNER, f"arn:aws:iam::{PARTNER}:user/partner")


# ---------------------------------------------------------------- with session tokens


def verify_captured(captured: Captured, token: str) -> sigv4.VerifiedSignature:
    credential = sigv4.Credential(KEY, SECRET, token)
    return sigv4.verify(captured.as_request(), service="lambda", region=REGION,
                        now=datetime.now(UTC), lookup={KEY: credential}.get)


def signed_names(captured: Captured) -> list[str]:
    request = captured.as_request()
    authorization = dict(request.headers).get(b"authorization")
    if authorization is not None:
        text = authorization.decode("latin-1")
        return text.partition("SignedHeaders=")[2].partition(",")[0].split(";")
    query = dict(p.partition("=")[::2] for p in request.query_string.decode().split("&"))
    return unquote(query["X-Amz-SignedHeaders"]).split(";")


@pytest.mark.parametrize(("client", "case"), PAIRS,
                         ids=[f"{client}-{case.name}" for client, case in PAIRS])
def test_signed_with_session_token(capture: tuple[str, list[Captured]], client: str,
                                   case: Case) -> None:
    needs(client)
    base, seen = capture

    assert CLIENTS[client](base, case, Keys(KEY, SECRET, TOKEN)).status == 200
    captured = seen[-1]

    assert "x-amz-security-token" in signed_names(captured)
    cause = REFUSED.get((client, case.name))
    try:
        verified = verify_captured(captured, TOKEN)
    except sigv4.InvalidSignature as refused:
        assert cause is not None, refused.reason
        assert cause in refused.reason
        return
    assert cause is None or lenient(client), f"let in a form {client} gets wrong: {cause}"
    assert verified.credential.session_token == TOKEN
    with pytest.raises(sigv4.UnrecognizedClient):
        verify_captured(captured, "another-token")


@pytest.mark.parametrize("presigner", PRESIGNERS)
def test_presigned_with_session_token(capture: tuple[str, list[Captured]],
                                      presigner: str) -> None:
    needs(presigner)
    base, seen = capture

    assert PRESIGNERS[presigner](base, PRESIGN_CASE, Keys(KEY, SECRET, TOKEN)).status == 200
    captured = seen[-1]

    assert b"X-Amz-Security-Token=" in captured.as_request().query_string
    cause = PRESIGN_REFUSED.get(presigner)
    if cause is not None:
        with pytest.raises(sigv4.InvalidSignature) as caught:
            verify_captured(captured, TOKEN)
        assert cause in caught.value.reason
        return
    assert verify_captured(captured, TOKEN).form == "query"
