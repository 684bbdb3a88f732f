"""The `fnurl` command: serve a project's function URLs, check a project file, explain and
simulate IAM decisions."""

from __future__ import annotations

import contextlib
import errno
import socket
import sqlite3
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import click

from fnurl import __version__, config, logs, registry

if TYPE_CHECKING:
    from fnurl.store import Store

DEFAULT_PROJECT_FILE = "fnurl.yaml"


def demo_project_path() -> Path:
    return Path(str(resources.files("fnurl") / "demo" / "fnurl.yaml"))


def load_project(config_file: str | None) -> tuple[Path, bool, config.LoadedProject]:
    """Resolve and load the project, or print its located problems and exit 1."""
    path, is_demo = resolve_project(config_file)
    try:
        loaded = config.load(path)
    except config.ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(1) from exc
    return path, is_demo, loaded


def _open_store(database: Path | None, *, read_only: bool = False) -> Store:
    from fnurl.store import Store, StoreError

    try:
        return Store(database, read_only=read_only)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


def resolve_project(config_file: str | None) -> tuple[Path, bool]:
    """The project to serve: --config, else ./fnurl.yaml, else the bundled demo."""
    if config_file is not None:
        return Path(config_file), False
    local = Path(DEFAULT_PROJECT_FILE)
    if local.is_file():
        return local, False
    return demo_project_path(), True


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fnurl")
def main() -> None:
    """fnurl: AWS Lambda function URLs on localhost, with SigV4 and IAM as AWS evaluates them."""


@main.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False), envvar="FNURL_CONFIG",
              help="Project file (default: ./fnurl.yaml, else the bundled demo).")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="FNURL_HOST",
              help="Interface to listen on. Use 0.0.0.0 only when you mean every interface.")
@click.option("--port", default=9000, show_default=True, type=click.IntRange(0, 65535),
              envvar="FNURL_PORT", help="Port to listen on.")
@click.option("--state-dir", type=click.Path(file_okay=False), envvar="FNURL_STATE_DIR",
              help="Where state is kept (default: .fnurl/ beside the project file).")
@click.option("--ephemeral", is_flag=True, envvar="FNURL_EPHEMERAL",
              help="Keep state in memory only (the bundled demo always does).")
@click.option("--log-level", default="info", show_default=True, envvar="FNURL_LOG_LEVEL",
              type=click.Choice(["debug", "info", "warning", "error"]))
@click.option("--idle-timeout", default=300.0, show_default=True, envvar="FNURL_IDLE_TIMEOUT",
              type=click.FloatRange(min=0.1), metavar="SECONDS",
              help="Shut down an execution environment idle for this long.")
@click.option("--reload/--no-reload", default=True, show_default=True, envvar="FNURL_RELOAD",
              help="Apply edits of the project file, and start new environments when files "
                   "under a function's code directory change.")
def serve(
    config_file: str | None,
    host: str,
    port: int,
    state_dir: str | None,
    ephemeral: bool,
    log_level: str,
    idle_timeout: float,
    reload: bool,
) -> None:
    """Serve the project's function URLs (and fnurl's own endpoints) on one port."""
    import uvicorn

    from fnurl import control
    from fnurl.control.reload import ProjectReloader, with_project_reload
    from fnurl.gateway import create_app
    from fnurl.runtime.process import ProcessRuntime

    path, is_demo, loaded = load_project(config_file)
    # Bound before anything is opened or printed: a busy port is one clear error.
    listener = _listen(host, port)
    port = listener.getsockname()[1]      # the one the system chose for --port 0

    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    database: Path | None = None
    if not ephemeral and (state_dir or not is_demo):
        database = (Path(state_dir) if state_dir else loaded.root / ".fnurl") / "fnurl.db"
    world = registry.build(loaded, demo=is_demo)
    code_root = database.parent / "functions" if database is not None else None
    try:
        state = control.ControlState(world, _open_store(database), loaded, code_root)
    except sqlite3.Error as exc:
        # Opened, but unusable: a full disk, or a file damaged beyond its header.
        raise click.ClickException(f"cannot use the state file {database}: {exc}. Free "
                                   "space or move it aside, or pass --state-dir DIR") from exc
    logs.configure(log_level)
    click.echo(banner(world, path, is_demo, port))

    runtime = ProcessRuntime(idle_timeout=idle_timeout, reload=reload)
    gateway = create_app(world, runtime)
    sts = control.install(gateway, state, loaded)
    runtime.credentials = sts.function_credentials
    app: Any = gateway
    if reload and not is_demo:
        reloader = ProjectReloader(path, state, sts)
        app = with_project_reload(gateway, reloader)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            server_header=False,
            # The TCP peer is the caller, as on AWS: uvicorn would otherwise take a local
            # client's X-Forwarded-For as its address, spoofing sourceIp and aws:SourceIp.
            proxy_headers=False,
            lifespan="on",
        )
    )
    try:
        server.run(sockets=[listener])
    finally:
        state.store.close()
    if not server.started:
        raise SystemExit(1)


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--config", "config_file", type=click.Path(dir_okay=False), envvar="FNURL_CONFIG",
              help="Project file, as serve takes it (or give it as the argument).")
def check(file: str | None, config_file: str | None) -> None:
    """Validate a project file and list every problem with its location."""
    if file is not None and config_file is not None and file != config_file:
        raise click.UsageError("give the project file once: as the argument or as --config")
    path, is_demo = resolve_project(file or config_file)
    try:
        loaded = config.load(path)
    except config.ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        noun = "problem" if len(exc.problems) == 1 else "problems"
        click.echo(f"{path}: {len(exc.problems)} {noun}", err=True)
        raise SystemExit(1) from exc

    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    project = loaded.project
    urls = sum(1 for f in project.functions.values() if f.url is not None)
    label = "the bundled demo" if is_demo else str(path)
    click.echo(
        f"{label}: OK ({len(project.accounts)} accounts, {len(project.functions)} functions, "
        f"{urls} function URLs)"
    )


@main.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False), envvar="FNURL_CONFIG",
              help="Project file (default: ./fnurl.yaml, else the bundled demo).")
@click.option("--function", "function_name", help="The function called.")
@click.option("--request", "request_file", type=click.File("rb"),
              help="A raw signed HTTP request (as sent; - for stdin): check its signature "
                   "and explain it as that caller.")
@click.option("--principal", help="Caller ARN: an IAM user, role, role session or root user.")
@click.option("--access-key", help="Caller named by an access key id.")
@click.option("--anonymous", is_flag=True, help="An unsigned caller.")
@click.option("--action", help="Explain this action on the function instead of a URL call.")
@click.option("--context", "pairs", multiple=True, metavar="KEY=VALUE",
              help="Add or replace a condition key; repeat a key for a multivalued one.")
@click.option("--verbose", "-v", is_flag=True, help="Every statement and context key.")
@click.option("--state-dir", type=click.Path(file_okay=False), envvar="FNURL_STATE_DIR",
              help="The server's state (default: .fnurl/ beside the project file), so what "
                   "the API changed counts; read, never written.")
def explain(
    config_file: str | None,
    function_name: str | None,
    request_file: BinaryIO | None,
    principal: str | None,
    access_key: str | None,
    anonymous: bool,
    action: str | None,
    pairs: tuple[str, ...],
    verbose: bool,
    state_dir: str | None,
) -> None:
    """Say whether a call would be allowed, and why: the layer, statement and condition."""
    from fnurl.gateway.authorize import explain_call

    path, is_demo, loaded = load_project(config_file)

    world = registry.build(loaded, demo=is_demo)
    database = (Path(state_dir) if state_dir else loaded.root / ".fnurl") / "fnurl.db"
    if not is_demo and database.is_file():
        from fnurl import control
        from fnurl.control.sts import Sts

        # Overlay what the API changed (URL configs, policies, functions, sessions).
        state = control.ControlState(world, _open_store(database, read_only=True), loaded,
                                     database.parent / "functions")
        Sts(state, loaded)
    signed_as = None
    if request_file is not None:
        function_name, signed_as = _explain_request(world, request_file.read())
    if function_name is None:
        raise click.UsageError("say which function: --function NAME (or --request FILE)")
    function = _find_function(world, function_name)
    if function is None:
        known = ", ".join(sorted({_qualified_name(f) for f in world.urls.values()}
                                 | set(world.functions))) or "none"
        raise click.UsageError(f"no function {function_name!r} in {path} (functions, and "
                               f"aliases with a URL: {known})")

    if sum(map(bool, (principal, access_key, anonymous))) > 1:
        raise click.UsageError("give only one of --principal, --access-key and --anonymous")

    identity = None
    if signed_as is not None:
        identity = world.identity(signed_as)
    elif principal is not None:
        identity = world.principal(principal)
        if identity is None:
            known = ", ".join(world.principals) or "none"
            raise click.UsageError(f"no principal {principal} in {path} (principals: {known})")
    elif access_key is not None:
        identity = world.identity(access_key)
        if identity is None:
            raise click.UsageError(f"no access key {access_key} in {path}")
    elif not anonymous and (action or function.url is None or function.url.auth_type != "NONE"):
        raise click.UsageError("say who calls: --principal ARN, --access-key ID or --anonymous")

    try:
        _, lines = explain_call(
            world, function, identity, action=action, context=_context(pairs), verbose=verbose
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc

    click.echo("\n".join(lines))


def _explain_request(world: registry.Registry, raw: bytes) -> tuple[str, str | None]:
    """Check a captured request's signature; print the verdict; return (function, key id).

    The clock is frozen at the request's own X-Amz-Date, so a request captured earlier is
    explained as it was when sent.
    """
    from datetime import UTC, datetime

    from fnurl import sigv4
    from fnurl.gateway.routing import route

    # The head ends at the first blank line (CRLF or LF); the body is kept byte for byte.
    ends = [(i, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (i := raw.find(sep)) >= 0]
    split_at, separator = min(ends) if ends else (len(raw), 0)
    head, body = raw[:split_at], raw[split_at + separator:]
    request_line, *header_lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    try:
        method, target, _version = request_line.split(" ", 2)
    except ValueError as exc:
        raise click.UsageError(f"not an HTTP request line: {request_line!r}") from exc
    headers: list[tuple[bytes, bytes]] = []
    for line in header_lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise click.UsageError(f"not an HTTP header line: {line!r}")
        headers.append((name.strip().lower().encode("latin-1"),
                        value.strip().encode("latin-1")))
    declared = next((v for n, v in headers if n == b"content-length"), b"")
    if declared.isdigit() and len(body) > int(declared):
        # Editors add a final newline the client never sent: Content-Length says the body.
        body = body[:int(declared)]
    raw_path, _, query = target.partition("?")
    url = route(raw_path.encode("latin-1"), headers)
    function = world.url(url.url_id) if url is not None else None
    if function is None:
        raise click.UsageError("the request is not for a function URL of this project")

    request = sigv4.HttpRequest(method, raw_path.encode("latin-1"), query.encode("latin-1"),
                                headers, body)
    if not sigv4.is_signed(request):
        click.echo("Signature: none (an anonymous caller)\n")
        return _qualified_name(function), None
    signed_at = datetime.now(UTC)
    for header, header_value in headers:
        if header == b"x-amz-date":
            with contextlib.suppress(ValueError):
                signed_at = datetime.strptime(header_value.decode(), "%Y%m%dT%H%M%SZ").replace(
                    tzinfo=UTC)
    try:
        verified = sigv4.verify(request, service="lambda", region=function.region,
                                now=signed_at, lookup=world.credential)
    except sigv4.SigV4Error as exc:
        click.echo(f"Signature: rejected, 403 {exc.error_type}: {exc.message}")
        click.echo(f"  why: {exc.reason}")
        raise SystemExit(1) from exc
    when = signed_at.strftime("%Y-%m-%d %H:%M:%S")
    click.echo(f"Signature: valid ({verified.access_key_id}, signed {when} UTC)\n")
    return _qualified_name(function), verified.access_key_id


def _qualified_name(function: registry.LambdaFunction) -> str:
    return f"{function.name}:{function.qualifier}" if function.qualifier else function.name


def _find_function(world: registry.Registry, name: str) -> registry.LambdaFunction | None:
    """A function by name, `name:alias` or ARN; an alias is found through its URL, which
    carries the alias's own resource policy."""
    if name.startswith("arn:"):
        parts = name.split(":")
        if len(parts) < 7 or parts[5] != "function":
            return None
        name = ":".join(parts[6:])
    base, _, qualifier = name.partition(":")
    if not qualifier or qualifier == "$LATEST":
        return world.functions.get(base)
    for served in world.urls.values():
        if served.name == base and served.qualifier == qualifier:
            return served
    return None


def _context(pairs: tuple[str, ...]) -> dict[str, str | list[str]]:
    values: dict[str, list[str]] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise click.UsageError(f"--context takes KEY=VALUE, got {pair!r}")
        values.setdefault(key, []).append(value)
    return {key: found[0] if len(found) == 1 else found for key, found in values.items()}


@main.command()
def simulate() -> None:
    """Decide IAM cases (JSON Lines in the shared cases format) read from stdin.

    Writes one JSON line per case: {"id", "decision", "reasons"}, or {"id", "error"} for a
    malformed case (and then exits 1).
    """
    import json

    from fnurl.iam.simulate import simulate_lines

    failed = False
    for result in simulate_lines(sys.stdin):
        failed = failed or "error" in result
        click.echo(json.dumps(result))
    if failed:
        raise SystemExit(1)


def host_url(url_id: str, region: str, port: int) -> str:
    return f"http://{url_id}.lambda-url.{region}.localhost:{port}/"


def path_url(url_id: str, port: int) -> str:
    return f"http://127.0.0.1:{port}/_fnurl/{url_id}/"


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        hint = " (another server is using it: choose one with --port)" if (
            exc.errno == errno.EADDRINUSE) else ""
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from exc
    listener.set_inheritable(True)
    return listener


def banner(world: registry.Registry, path: Path, is_demo: bool, port: int) -> str:
    lines = [f"fnurl {__version__} serving {'the bundled demo' if is_demo else path}", ""]
    for function in sorted(world.urls.values(), key=lambda f: (f.name, f.qualifier or "")):
        url = function.url
        if url is None:
            continue
        name = f"{function.name}:{function.qualifier}" if function.qualifier else function.name
        lines.append(f"  {name}  {url.auth_type}  ({function.arn})")
        lines.append(f"    {host_url(url.url_id, function.region, port)}")
        lines.append(f"    {path_url(url.url_id, port)}")
    if is_demo:
        lines += ["", *demo_commands(world, port)]
    lines.append("")
    lines.append(f"Health: http://127.0.0.1:{port}/_fnurl/health   (Ctrl+C to stop)")
    return "\n".join(lines)


def demo_commands(world: registry.Registry, port: int) -> list[str]:
    def url(name: str) -> str:
        function = world.functions[name]
        assert function.url is not None
        return host_url(function.url.url_id, function.region, port) + "hello"

    def signed(key_id: str) -> str:
        secret = world.keys[key_id].credential.secret_access_key
        return f'curl -i --aws-sigv4 "aws:amz:us-east-1:lambda" --user "{key_id}:{secret}" '

    cases = [
        ("Public NONE URL, console's two statements -> 200", f"curl -i {url('public')}"),
        ("NONE URL without a policy -> 403", f"curl -i {url('locked')}"),
        ("NONE URL with only the earlier InvokeFunctionUrl statement -> 403",
         f"curl -i {url('single')}"),
        ("The same statement in a legacy_url_permissions account -> 200",
         f"curl -i {url('legacy')}"),
        ("AWS_IAM URL, unsigned -> 403", f"curl -i {url('private')}"),
        ("AWS_IAM URL, alice (identity policy allows) -> 200",
         signed("AKIAALICEEXAMPLE0001") + url("private")),
        ("AWS_IAM URL, bob (no policy) -> 403", signed("AKIABOBEXAMPLE000002") + url("private")),
        ("Cross-account role/example (its policy and the function's allow) -> 200",
         signed("AKIAEXAMPLEROLE00003") + url("private")),
        ("Cross-account role/auditor (only its own policy allows) -> 403",
         signed("AKIAAUDITOREXAMPL004") + url("private")),
    ]
    lines = ["Try each case (paste into another terminal):"]
    for title, command in cases:
        lines += [f"  # {title}", f"  {command}"]
    return lines


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

