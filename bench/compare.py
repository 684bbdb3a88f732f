"""fnurl side by side with a bare Starlette app, in one run (issue 7).

    python bench/compare.py                    # 3 rounds x 5 s per target, about 2 minutes
    python bench/compare.py --rounds 5 --duration 10 --connections 10
    python bench/compare.py --peer             # add serverless-offline (bench/serverless/)

Starts on 127.0.0.1, with the uvicorn settings `fnurl serve` uses:

- A: bench/bare_app.py, a Starlette app that returns the handler's 19-byte JSON body;
- B: `fnurl serve` with that handler behind a NONE URL (public_access: true);
- C: the same server and handler behind an AWS_IAM URL, loaded with one request signed by
  botocore and replayed as is (a signature stays valid inside the 5-minute skew window; it is
  signed again before every run).

wrk (installed with apt-get when missing) loads each with the same threads and connections,
A, B, C in turn for several rounds; the table gives the median over rounds of requests/s and
of the p50 and p99 latencies, and the ratios to A. Then the resident memory of the gateway and
of one execution environment, the cold start (the first call after a code change), and two
microbenchmarks: SigV4 verifications/s and URL-call IAM decisions/s.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

BENCH = Path(__file__).resolve().parent
NONE_ID = "benchnonebenchnonebenchnonebench"
IAM_ID = "benchiambenchiambenchiambenchiam"
KEY_ID = "AKIABENCHEXAMPLE0001"
SECRET = "bench-secret"
REGION = "us-east-1"
BODY = b'{"message":"hello"}'

HANDLER = '''import json


def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"message": "hello"}, separators=(",", ":"))}
'''
PROJECT = f"""
accounts:
  "111122223333":
    users:
      bench:
        access_keys: [{{id: {KEY_ID}, secret: {SECRET}}}]
        policies:
          - Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: [lambda:InvokeFunctionUrl, lambda:InvokeFunction]
                Resource: "arn:aws:lambda:{REGION}:111122223333:function:*"
functions:
  open:
    account: "111122223333"
    handler: app.handler
    code: code
    url: {{auth_type: NONE, public_access: true, id: {NONE_ID}}}
  signed:
    account: "111122223333"
    handler: app.handler
    code: code
    url: {{auth_type: AWS_IAM, id: {IAM_ID}}}
"""


@dataclass
class Target:
    label: str
    port: int
    host: str
    path: str
    sign: bool = False
    pid: int = 0

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def headers(self) -> dict[str, str]:
        headers = {"Host": self.host}
        if self.sign:
            request = AWSRequest(method="GET", url=f"http://{self.host}{self.path}",
                                 headers=headers)
            SigV4Auth(Credentials(KEY_ID, SECRET), "lambda", REGION).add_auth(request)
            headers = dict(request.headers.items())
        return headers


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_us: float = 0.0        # CPU time per request: the server process ...
    children_cpu_us: float = 0.0      # ... and its execution environments


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing it with apt-get", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "install", "-y", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed; install it and run again")
    return found


def get(port: int, host: str, path: str,
        headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_ready(process: subprocess.Popen[bytes], port: int, path: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            get(port, f"127.0.0.1:{port}", path)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server did not start:\n{log.read_text()}")


def start(command: list[str], cwd: Path, log: Path, port: int, ready_path: str,
          env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
    wait_ready(process, port, ready_path, log)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(binary: str, target: Target, seconds: float, connections: int, threads: int) -> Run:
    command = [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    for name, value in target.headers().items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, target.url()], capture_output=True, text=True,
                            check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return Run(rps, p50, p99, errors)


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(n) for n in (task / "children").read_text().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a live process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(binary: str, target: Target, pid: int, seconds: float, connections: int,
             threads: int) -> Run:
    """A wrk run, with the CPU the server and its environments spent per request."""
    server, kids = cpu_seconds(pid), {c: cpu_seconds(c) for c in children(pid)}
    run = wrk(binary, target, seconds, connections, threads)
    requests = max(1.0, run.rps * seconds)
    run.server_cpu_us = (cpu_seconds(pid) - server) / requests * 1e6
    run.children_cpu_us = sum(cpu_seconds(c) - kids.get(c, 0.0)
                              for c in children(pid)) / requests * 1e6
    return run


def median_run(runs: list[Run]) -> Run:
    return Run(statistics.median(r.rps for r in runs), statistics.median(r.p50_ms for r in runs),
               statistics.median(r.p99_ms for r in runs), sum(r.errors for r in runs),
               statistics.median(r.server_cpu_us for r in runs),
               statistics.median(r.children_cpu_us for r in runs))


def cold_starts(root: Path, log: Path, port: int, count: int) -> tuple[list[float], list[float],
                                                                         list[float]]:
    """(first call after the change is seen, write to new reply, Init Duration), in ms."""
    first_calls: list[float] = []
    write_to_reply: list[float] = []
    host = f"{NONE_ID}.lambda-url.{REGION}.localhost:{port}"
    for n in range(count):
        seen = log.read_text(errors="replace").count("code changed in")
        written = time.perf_counter()
        (root / "code" / "app.py").write_text(HANDLER.replace('"hello"', f'"v{n:05d}"'))
        deadline = time.monotonic() + 10
        while log.read_text(errors="replace").count("code changed in") == seen:
            if time.monotonic() > deadline:
                raise SystemExit("fnurl did not notice the code change (reload off?)")
            time.sleep(0.002)
        # The watcher retires idle environments as it logs; let it finish doing so.
        time.sleep(0.05)
        started = time.perf_counter()
        status, body = get(port, host, "/")
        first_calls.append((time.perf_counter() - started) * 1000)
        assert status == 200 and f"v{n:05d}".encode() in body, (status, body)
        write_to_reply.append((time.perf_counter() - written - 0.05) * 1000)
    text = log.read_text(errors="replace")
    init = [float(m) for m in re.findall(r"Init Duration: ([\d.]+) ms", text)][-count:]
    return first_calls, write_to_reply, init


def rate(label: str, seconds: float, step: Callable[[], object]) -> float:
    step()
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            step()
        count += 100
    per_second = count / (time.perf_counter() - started)
    print(f"  {label:<58} {per_second:>10,.0f}/s  ({1e6 / per_second:6.1f} µs each)")
    return per_second


def microbenchmarks(root: Path, seconds: float) -> None:
    from fnurl import config, registry, sigv4
    from fnurl.gateway.authorize import authorize_url_call

    world = registry.build(config.load(root / "fnurl.yaml"))
    signed_fn = world.url(IAM_ID)
    open_fn = world.url(NONE_ID)
    assert signed_fn is not None and open_fn is not None
    target = Target("C", 9000, f"{IAM_ID}.lambda-url.{REGION}.localhost:9000", "/", sign=True)
    headers = [(k.lower().encode(), v.encode()) for k, v in target.headers().items()]
    headers += [(b"user-agent", b"wrk"), (b"accept", b"*/*")]
    request = sigv4.HttpRequest(method="GET", raw_path=b"/", query_string=b"",
                                headers=headers, body=b"")
    identity = world.identity(KEY_ID)

    def verify() -> object:
        return sigv4.verify(request, service="lambda", region=REGION,
                            now=datetime.now(UTC), lookup=world.credential)

    def decide_signed() -> object:
        decision = authorize_url_call(world, signed_fn, identity, source_ip="127.0.0.1",
                                      user_agent="wrk", referer=None)
        assert decision.allowed
        return decision

    def decide_open() -> object:
        decision = authorize_url_call(world, open_fn, None, source_ip="127.0.0.1",
                                      user_agent="wrk", referer=None)
        assert decision.allowed
        return decision

    print("\nMicrobenchmarks (this process, one core)")
    rate("SigV4 verifications (the replayed request)", seconds, verify)
    rate("URL-call IAM decisions, AWS_IAM (2 evaluations each)", seconds, decide_signed)
    rate("URL-call IAM decisions, NONE public (2 evaluations each)", seconds, decide_open)
    sys.path.insert(0, str(BENCH))
    import iam_decisions

    policies = iam_decisions.PolicySet(
        identity=[iam_decisions.parse_policy(d, iam_decisions.PolicyKind.IDENTITY)
                  for d in iam_decisions.identity_policies()],
        resource=iam_decisions.parse_policy(iam_decisions.resource_policy(),
                                            iam_decisions.PolicyKind.RESOURCE, name="orders"),
    )
    for label, iam_request in iam_decisions.requests().items():
        rate(f"22-statement evaluate: {label[:34]}", seconds,
             lambda r=iam_request: iam_decisions.evaluate(r, policies))


def peer_target(port: int) -> tuple[list[str], Path] | None:
    """The serverless-offline command, if bench/serverless/ has been installed."""
    directory = BENCH / "serverless"
    binary = directory / "node_modules" / ".bin" / "serverless"
    if not binary.exists():
        return None
    return [str(binary), "offline", "start", "--httpPort", str(port), "--noPrependStageInUrl",
            "--noTimeout"], directory


def machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} cores, {model}, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--cold", type=int, default=10, help="cold starts to time")
    parser.add_argument("--micro-seconds", type=float, default=2.0)
    parser.add_argument("--log-level", default="info", help="fnurl serve's --log-level")
    parser.add_argument("--peer", action="store_true",
                        help="also serverless-offline (see bench/serverless/README.md)")
    parser.add_argument("--keep", action="store_true", help="leave the work directory")
    args = parser.parse_args()
    binary = ensure_wrk()

    root = Path(tempfile.mkdtemp(prefix="fnurl-bench-"))
    (root / "code").mkdir()
    (root / "code" / "app.py").write_text(HANDLER)
    (root / "fnurl.yaml").write_text(PROJECT)
    bare_port, fnurl_port = free_port(), free_port()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        bare = start([sys.executable, str(BENCH / "bare_app.py"), str(bare_port)], root,
                     root / "bare.log", bare_port, "/")
        processes.append(bare)
        fnurl_log = root / "fnurl.log"
        gateway = start([sys.executable, "-m", "fnurl", "serve", "--config",
                         str(root / "fnurl.yaml"), "--port", str(fnurl_port), "--ephemeral",
                         "--log-level", args.log_level], root, fnurl_log, fnurl_port,
                        "/_fnurl/health")
        processes.append(gateway)

        targets = [
            Target("A bare starlette", bare_port, f"127.0.0.1:{bare_port}", "/",
                   pid=bare.pid),
            Target("B fnurl NONE", fnurl_port,
                   f"{NONE_ID}.lambda-url.{REGION}.localhost:{fnurl_port}", "/",
                   pid=gateway.pid),
            Target("C fnurl AWS_IAM", fnurl_port,
                   f"{IAM_ID}.lambda-url.{REGION}.localhost:{fnurl_port}", "/", sign=True,
                   pid=gateway.pid),
        ]
        peer = peer_target(free_port()) if args.peer else None
        if args.peer and peer is None:
            print("--peer: bench/serverless/ is not installed (see its README); skipped")
        if peer is not None:
            command, directory = peer
            port = int(command[command.index("--httpPort") + 1])
            processes.append(start(command, directory, root / "peer.log", port, "/",
                                   env={"SLS_TELEMETRY_DISABLED": "1"}))
            targets.append(Target("D serverless-offline", port, f"127.0.0.1:{port}", "/",
                                  pid=processes[-1].pid))

        for target in targets:
            status, body = get(target.port, target.host, target.path, target.headers())
            if status != 200 or body != BODY:
                raise SystemExit(f"{target.label}: {status} {body[:200]!r}")
            wrk(binary, target, 2, args.connections, args.threads)   # warm up

        runs: dict[str, list[Run]] = {t.label: [] for t in targets}
        for round_number in range(args.rounds):
            for target in targets:
                run = measured(binary, target, target.pid, args.duration, args.connections,
                               args.threads)
                runs[target.label].append(run)
                print(f"round {round_number + 1} {target.label:<22} {run.rps:9.0f} req/s "
                      f"p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms", file=sys.stderr)

        gateway_rss = status_kb(gateway.pid, "VmRSS") / 1024
        gateway_hwm = status_kb(gateway.pid, "VmHWM") / 1024
        environments = children(gateway.pid)
        environment_rss = status_kb(environments[0], "VmRSS") / 1024 if environments else 0.0

        first, write_to_reply, init = cold_starts(root, fnurl_log, fnurl_port, args.cold)

        bare_run = median_run(runs[targets[0].label])
        print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}")
        print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, "
              f"{args.rounds} rounds alternating, medians; fnurl --log-level {args.log_level}\n")
        print(f"{'':<22} {'req/s':>9} {'x bare':>7} {'p50 ms':>7} {'+p50 ms':>8} "
              f"{'p99 ms':>7} {'errors':>6} {'CPU µs/req':>12}")
        for target in targets:
            run = median_run(runs[target.label])
            print(f"{target.label:<22} {run.rps:9.0f} {run.rps / bare_run.rps:7.2f} "
                  f"{run.p50_ms:7.2f} {run.p50_ms - bare_run.p50_ms:8.2f} {run.p99_ms:7.2f} "
                  f"{run.errors:6d} {run.server_cpu_us:6.0f} + {run.children_cpu_us:3.0f}")
        print("(CPU µs/req: the server process + its children, the execution environments)")
        print(f"\ngateway RSS {gateway_rss:.1f} MB (peak {gateway_hwm:.1f} MB); "
              f"{len(environments)} environments, one {environment_rss:.1f} MB")
        print(f"cold start, first call after a code change: median {statistics.median(first):.1f}"
              f" ms, max {max(first):.1f} ms ({len(first)} changes)")
        print(f"  Init Duration (fnurl's log): median {statistics.median(init):.1f} ms; "
              f"file write to new reply: median {statistics.median(write_to_reply):.1f} ms")
        microbenchmarks(root, args.micro_seconds)
    finally:
        for process in reversed(processes):
            stop(process)
        if args.keep:
            print(f"\nwork directory kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
