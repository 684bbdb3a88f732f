"""Cold start and warm-call overhead of a trivial handler, through a real `fnurl serve`.

Starts fnurl on a free port with a one-line handler, then measures from the client side
(httpx over one keep-alive connection, as a test or a browser would call):

- the baseline: `GET /_fnurl/health`, fnurl's own endpoint (HTTP and uvicorn, no invocation);
- warm calls: the trivial handler in a warm environment;
- cold calls: each after the environment was shut down for being idle (--idle-timeout),
  together with the Init Duration fnurl logs for it;
- hot reload: from rewriting the handler's file to the first reply from the new code.

    python bench/runtime_overhead.py                 # 500 warm calls, 20 cold ones
    python bench/runtime_overhead.py --warm 2000 --cold 50
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.servers import start_server

PROJECT = """
accounts: {"111122223333": {}}
functions:
  trivial:
    handler: app.handler
    code: code
    url: {auth_type: NONE, public_access: true, id: trivialtrivialtrivialtrivialtriv}
"""
HANDLER = "def handler(event, context):\n    return 'ok'\n"
IDLE_TIMEOUT = 0.3


def median_ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(len(ordered) * 0.9) - 1] if len(ordered) >= 10 else ordered[-1]
    return f"median {statistics.median(samples) * 1000:7.2f} ms   p90 {p90 * 1000:7.2f} ms"


def timed(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=500, help="warm calls to time")
    parser.add_argument("--cold", type=int, default=20, help="cold starts to time")
    parser.add_argument("--reloads", type=int, default=10, help="code changes to time")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "code").mkdir()
        (root / "code" / "app.py").write_text(HANDLER)
        (root / "fnurl.yaml").write_text(PROJECT)
        server = start_server(root, ["--config", str(root / "fnurl.yaml"), "--log-level",
                                     "info", "--idle-timeout", str(IDLE_TIMEOUT)])
        try:
            url = server.path_url("trivialtrivialtrivialtrivialtriv")
            health = f"{server.base}/_fnurl/health"
            with httpx.Client(timeout=30) as client:
                for _ in range(50):                       # warm up both paths
                    timed(client, health)
                    timed(client, url)
                baseline = [timed(client, health) for _ in range(args.warm)]
                warm = [timed(client, url) for _ in range(args.warm)]

                cold = []
                for _ in range(args.cold):
                    reaped = server.log().count("shut down an environment idle")
                    deadline = time.monotonic() + 10
                    while (server.log().count("shut down an environment idle") == reaped
                           and time.monotonic() < deadline):
                        time.sleep(0.05)
                    cold.append(timed(client, url))

                reloads = []
                for n in range(args.reloads):
                    (root / "code" / "app.py").write_text(HANDLER.replace("'ok'", f"'v{n}'"))
                    changed = time.perf_counter()
                    while client.get(url).text != f"v{n}":
                        time.sleep(0.005)
                    reloads.append(time.perf_counter() - changed)
        finally:
            server.stop()
        log = server.log()

    init = [float(m) / 1000 for m in re.findall(r"Init Duration: ([\d.]+) ms", log)]
    durations = [float(m) / 1000 for m in re.findall(r"\tDuration: ([\d.]+) ms", log)]
    overhead = statistics.median(warm) - statistics.median(baseline)
    print(f"baseline  GET /_fnurl/health   {median_ms(baseline)}   ({len(baseline)} calls)")
    print(f"warm call trivial handler      {median_ms(warm)}   ({len(warm)} calls)")
    print(f"cold call trivial handler      {median_ms(cold)}   ({len(cold)} calls)")
    print(f"Init Duration (fnurl's log)    {median_ms(init)}   ({len(init)} cold starts)")
    print(f"REPORT Duration (invoke only)  {median_ms(durations)}")
    print(f"warm overhead over baseline    {overhead * 1000:7.2f} ms (median minus median)")
    print(f"hot reload, write to new reply {median_ms(reloads)}   ({len(reloads)} changes)")


if __name__ == "__main__":
    main()
