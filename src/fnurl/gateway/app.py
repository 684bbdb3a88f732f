"""The ASGI application: route, authenticate, authorize, invoke, map the reply.

Function URL requests are handled on raw ASGI, because the SigV4 check needs the bytes as they
arrived (raw path, raw query, header order) and the hot path should not pay for a framework's
request parsing. Everything else (health, later the Lambda and STS APIs) goes to a Starlette
app.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fnurl import logs, sigv4
from fnurl.gateway import cors, errors, ids, streaming
from fnurl.gateway.authorize import authorize_url_call
from fnurl.gateway.event import Caller, build_event
from fnurl.gateway.response import JSON_TYPE, STREAM_TYPE, InvalidReply, map_prelude, map_reply
from fnurl.gateway.routing import UrlRoute, route
from fnurl.registry import Identity, LambdaFunction, Registry
from fnurl.runtime import InvocationError, InvocationResult, Qualified, Runtime, StreamEvent
from fnurl.runtime.process import ProcessRuntime, Throttled

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_REQUEST_BYTES = 6 * 1024 * 1024
MAX_RESPONSE_BYTES = 6_291_556     # the figure in Lambda's own error message

access_log = logging.getLogger("fnurl.access")
auth_log = logging.getLogger("fnurl.auth")
runtime_log = logging.getLogger("fnurl.runtime")
gateway_log = logging.getLogger("fnurl.gateway")


class _TooLarge(Exception):
    pass


class Gateway:
    """One ASGI app for every function URL of a project and for fnurl's own endpoints."""

    def __init__(self, registry: Registry, runtime: Runtime | None = None) -> None:
        self.registry = registry
        self.runtime: Runtime = runtime or ProcessRuntime()
        self.ready = False
        self.control = Starlette(
            routes=[Route("/_fnurl/health", self._health)],
            lifespan=self._lifespan,
        )
        self.control.add_exception_handler(404, self._not_found)
        self.control.add_exception_handler(405, self._not_found)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            url_route = route(scope.get("raw_path") or scope["path"].encode(), scope["headers"])
            if url_route is not None:
                await self._serve_url(scope, receive, send, url_route)
                return

            async def send_after_logs(message: Message) -> None:
                if message["type"] == "http.response.start":
                    logs.write_pending()
                await send(message)

            await self.control(scope, receive, send_after_logs)
            return
        await self.control(scope, receive, send)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.runtime.start()
        self.ready = True
        try:
            yield
        finally:
            self.ready = False
            await self.runtime.close()

    async def _health(self, request: Request) -> Response:
        # Keyed by function name, and `name:alias` for a URL on an alias.
        urls = {
            f"{f.name}:{f.qualifier}" if f.qualifier else f.name:
                {"url_id": f.url.url_id, "auth_type": f.url.auth_type}
            for f in sorted(self.registry.urls.values(), key=lambda f: (f.name, f.qualifier or ""))
            if f.url is not None
        }
        status = 200 if self.ready else 503
        return JSONResponse({"status": "ok" if self.ready else "starting", "urls": urls}, status)

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return errors.unknown_operation(request.method, request.url.path)

    async def _serve_url(
        self, scope: Scope, receive: Receive, send: Send, url_route: UrlRoute
    ) -> None:
        started = time.perf_counter()
        request_id = ids.request_id()
        outcome = _Outcome(request_id, url_route, scope["method"])
        try:
            response = await self._handle_url(scope, receive, url_route, outcome)
        except Exception:
            gateway_log.exception("request %s failed inside fnurl", request_id)
            response = errors.json_response(
                500,
                b'{"message":"fnurl failed to handle this request; see the server log"}',
                error_type="ServiceException",
                request_id=request_id,
            )
        outcome.status = response.status_code
        if outcome.trace is not None:
            # Every reply of an invocation, a 502 or 429 as much as a handler's own.
            response.raw_headers.append((b"x-amzn-trace-id", outcome.trace.encode()))
            if _keeps_alive(scope):
                response.raw_headers.append((b"connection", b"keep-alive"))
        logs.write_pending()    # what was logged about this call is readable when it answers
        await response(scope, receive, send)
        outcome.log((time.perf_counter() - started) * 1000)

    async def _handle_url(
        self, scope: Scope, receive: Receive, url_route: UrlRoute, outcome: _Outcome
    ) -> Response:
        request_id = outcome.request_id
        function = self.registry.url(url_route.url_id)
        if function is None or function.url is None or (
            url_route.region is not None and url_route.region != function.region
        ):
            auth_log.info("%s: no function URL with id %s", request_id, url_route.url_id)
            return errors.unknown_url(request_id)
        outcome.function = function

        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if cors.is_preflight(function.url.cors, scope["method"], headers):
            # Answered by the URL itself: before auth (browsers never sign a preflight) and
            # without invoking the function.
            assert function.url.cors is not None
            outcome.decision = "preflight"
            return cors.preflight(function.url.cors, headers, request_id)

        try:
            body = await _read_body(scope, receive)
        except _TooLarge:
            runtime_log.warning("%s: request body over 6 MB refused", request_id)
            return errors.too_large(request_id)

        source_ip = (scope.get("client") or ("127.0.0.1", 0))[0]
        identity: Identity | None = None
        access_key = ""
        if function.url.auth_type == "AWS_IAM":
            signed = sigv4.HttpRequest(
                method=scope["method"],
                raw_path=scope.get("raw_path") or scope["path"].encode(),
                query_string=scope.get("query_string", b""),
                headers=headers,
                body=body,
            )
            try:
                verified = sigv4.verify(
                    signed,
                    service="lambda",
                    region=function.region,
                    now=datetime.now(UTC),
                    lookup=self.registry.credential,
                )
            except sigv4.MissingAuthentication as exc:
                outcome.decision = "unsigned"
                auth_log.info("%s: denied anonymous caller of AWS_IAM URL %s (%s): %s",
                              request_id, function.name, url_route.url_id, exc.reason)
                return errors.forbidden(request_id)
            except sigv4.SigV4Error as exc:
                outcome.decision = "bad-signature"
                auth_log.info("%s: rejected signature for %s: %s: %s",
                              request_id, function.name, exc.error_type, exc.reason)
                return errors.json_response(
                    exc.status, _compact(exc.body()), error_type=exc.error_type,
                    request_id=request_id,
                )
            access_key = verified.access_key_id
            identity = self.registry.identity(access_key)
            if identity is None:  # a key the lookup knew must have an owner
                raise RuntimeError(f"access key {access_key} has no identity")
            outcome.principal = identity.arn

        decision = authorize_url_call(
            self.registry,
            function,
            identity,
            source_ip=source_ip,
            user_agent=_header(headers, b"user-agent"),
            referer=_header(headers, b"referer"),
        )
        if not decision.allowed:
            outcome.decision = "deny"
            auth_log.info("%s: denied %s calling %s: %s", request_id,
                          outcome.principal, function.name, decision.reason)
            return errors.forbidden(request_id)
        outcome.decision = "allow"
        trace_root = ids.client_trace_root(_header(headers, b"x-amzn-trace-id"))
        trace_root = trace_root or ids.trace_root(time.time())
        outcome.trace = ids.invocation_trace(trace_root)

        caller = None
        if identity is not None:
            owner = self.registry.accounts.get(identity.account)
            caller = Caller(
                access_key=access_key,
                account_id=identity.account,
                caller_id=identity.user_id,
                user_arn=identity.arn,
                user_id=identity.user_id,
                principal_org_id=owner.org_id if owner is not None else None,
            )
        event = build_event(
            method=scope["method"],
            raw_path=url_route.raw_path.decode("latin-1"),
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            source_ip=source_ip,
            url_id=url_route.url_id,
            region=function.region,
            request_id=request_id,
            caller=caller,
            trace_root=trace_root,
        )
        payload = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        if len(payload) > MAX_REQUEST_BYTES:
            # Lambda's limit is on the invocation payload: base64 makes bodies a third larger.
            runtime_log.warning("%s: event of %d bytes exceeds 6 MB; refused", request_id,
                                len(payload))
            return errors.too_large(request_id)
        return await self._invoke(function, payload, request_id, outcome.trace, scope)

    async def _invoke(
        self, function: LambdaFunction, event: bytes, request_id: str, trace: str, scope: Scope
    ) -> Response:
        try:
            # Through an alias's URL the handler sees the alias's ARN, as on Lambda.
            qualified = Qualified(invoked_arn=function.arn) if function.qualifier else None
            result = await self.runtime.invoke(function, event, request_id, trace,
                                               qualified=qualified)
        except Throttled:
            runtime_log.warning("%s: %s throttled (reserved concurrency %s reached)",
                                request_id, function.name, function.reserved_concurrency)
            return errors.throttled(request_id)

        assert function.url is not None
        if function.url.invoke_mode == "RESPONSE_STREAM":
            response = await self._stream_reply(function, result, request_id, scope)
        else:
            response = await self._buffered_reply(function, result, request_id, scope)
        # The URL's CORS headers go on what the function answered, 502s included; the
        # front end's own refusals (403, 413, 429) get none (unconfirmed on AWS).
        cors.decorate(function.url.cors, scope["headers"], response.raw_headers)
        return response

    async def _buffered_reply(
        self, function: LambdaFunction, result: InvocationResult, request_id: str, scope: Scope
    ) -> Response:
        if result.stream is not None:
            return await self._buffer_stream(function, result.stream, request_id, scope)
        if result.error is not None:
            self._log_error(function, request_id, result.error)
            return errors.internal_error(request_id)
        assert result.payload is not None

        mapped = self._mapped_reply(function, request_id, result.payload)
        if mapped is None:
            return errors.internal_error(request_id)
        status, reply_headers, data = mapped
        return self._buffered(status, reply_headers, data, request_id, scope)

    async def _buffer_stream(
        self,
        function: LambdaFunction,
        stream: AsyncGenerator[StreamEvent, None],
        request_id: str,
        scope: Scope,
    ) -> Response:
        """A streaming handler behind BUFFERED, as AWS treats a Node one (spec section 6)."""
        prelude, data, size, error = await streaming.collect_stream(stream, MAX_RESPONSE_BYTES)
        if error is not None:
            self._log_error(function, request_id, error)
        if prelude is not None:
            # The prelude's status and headers are used, and the body is lost.
            try:
                status, reply_headers = map_prelude(prelude.fields)
            except InvalidReply as exc:
                runtime_log.error("%s: %s streamed an invalid prelude: %s", request_id,
                                  function.name, exc)
                return errors.internal_error(request_id)
            return self._buffered(status, reply_headers, b"", request_id, scope)
        if error is not None and size == 0:
            return self._buffered(200, [(b"content-type", JSON_TYPE)], b"", request_id, scope)
        if not self._fits(function, request_id, size):
            return errors.internal_error(request_id)
        return self._buffered(200, [(b"content-type", STREAM_TYPE)], data, request_id, scope)

    async def _stream_reply(
        self, function: LambdaFunction, result: InvocationResult, request_id: str, scope: Scope
    ) -> Response:
        method = scope["method"]
        error = result.error
        response: Response | None = None
        if result.stream is not None:
            response, error = await streaming.open_stream(
                result.stream, method=method, request_id=request_id, function=function.name)
            if response is None and error is None:
                return errors.internal_error(request_id)   # an invalid prelude
        elif error is None:
            # An ordinary handler: its head as a proxy reply, but its whole JSON as the body.
            assert result.payload is not None
            mapped = self._mapped_reply(function, request_id, result.payload)
            if mapped is None:
                return errors.internal_error(request_id)
            status, reply_headers, _ = mapped
            response = streaming.payload_stream(status, reply_headers, result.payload, method)

        if error is not None:
            self._log_error(function, request_id, error)
            response = streaming.error_stream(error, request_id, method)
        assert response is not None
        response.raw_headers += self._invocation_headers(request_id)
        return response

    def _buffered(
        self, status: int, headers: list[tuple[bytes, bytes]], data: bytes, request_id: str,
        scope: Scope,
    ) -> Response:
        if status in (204, 304):
            # HTTP forbids a body here; sending one would corrupt the connection.
            data = b""
        response = Response(b"" if scope["method"] == "HEAD" else data, status_code=status)
        response.raw_headers = [
            *headers,
            *([] if status in (204, 304) else [(b"content-length", str(len(data)).encode())]),
            *self._invocation_headers(request_id),
        ]
        return response

    def _invocation_headers(self, request_id: str) -> list[tuple[bytes, bytes]]:
        # The trace and Connection headers are added to every invocation reply by _serve_url.
        return [(b"x-amzn-requestid", request_id.encode())]

    def _mapped_reply(
        self, function: LambdaFunction, request_id: str, payload: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """Status, headers and body of a handler's JSON reply; None (logged) means 502."""
        if not self._fits(function, request_id, len(payload)):
            return None
        try:
            return map_reply(payload)
        except InvalidReply as exc:
            runtime_log.error("%s: %s returned an invalid reply: %s", request_id,
                              function.name, exc)
            return None

    def _fits(self, function: LambdaFunction, request_id: str, size: int) -> bool:
        if size <= MAX_RESPONSE_BYTES:
            return True
        runtime_log.error(
            "%s: %s: Exceeded maximum allowed payload size (%d bytes): reply is %d bytes",
            request_id, function.name, MAX_RESPONSE_BYTES, size,
        )
        return False

    def _log_error(self, function: LambdaFunction, request_id: str,
                   error: InvocationError) -> None:
        trace = "".join(error.stack_trace).rstrip("\n")
        runtime_log.error("%s: %s failed: %s: %s%s", request_id, function.name,
                          error.error_type, error.message, f"\n{trace}" if trace else "")


class _Outcome:
    """What the access log line says about one URL request."""

    def __init__(self, request_id: str, url_route: UrlRoute, method: str) -> None:
        self.request_id = request_id
        self.route = url_route
        self.method = method
        self.function: LambdaFunction | None = None
        self.principal = "anonymous"
        self.decision = "-"
        self.status = 0
        self.trace: str | None = None      # set once the call is let in: it invokes

    def log(self, elapsed_ms: float) -> None:
        logs.info(
            access_log,
            f"{self.request_id} {self.route.url_id} {self.method} "
            f"{self.route.raw_path.decode('latin-1')} {self.status} {self.principal} "
            f"{self.decision} {elapsed_ms:.1f}ms",
        )


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > MAX_REQUEST_BYTES:
            raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _keeps_alive(scope: Scope) -> bool:
    connection = (_header(scope["headers"], b"connection") or "").lower()
    if scope.get("http_version") == "1.0":
        return "keep-alive" in connection
    return "close" not in connection


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _compact(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def create_app(registry: Registry, runtime: Runtime | None = None) -> Gateway:
    return Gateway(registry, runtime)
