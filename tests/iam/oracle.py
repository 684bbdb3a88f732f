"""The independent IAM evaluator the differential tests compare fnurl with.

`../shared/tools/iam-oracle/iamsim_oracle.mjs` wraps @cloud-copilot/iam-simulate, which is
AGPL-3.0: it runs only as a separate `node` process, with its npm packages installed outside
this repository (`IAMSIM_NODE_MODULES`, else `${XDG_CACHE_HOME:-~/.cache}/fnurl/iam-oracle/
node_modules`, where `.ci/run` installs them). Nothing of it is imported, vendored or shipped.

    mkdir -p ~/.cache/fnurl/iam-oracle
    cat ../shared/tools/iam-oracle/package.json > ~/.cache/fnurl/iam-oracle/package.json
    (cd ~/.cache/fnurl/iam-oracle && npm install --no-audit --no-fund)
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.servers import SHARED

ORACLE_SCRIPT = SHARED / "tools" / "iam-oracle" / "iamsim_oracle.mjs"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
DEFAULT_MODULES = CACHE / "fnurl" / "iam-oracle" / "node_modules"

# iam-simulate's words for the three outcomes, and fnurl's.
DECISIONS = {
    "Allowed": "Allow",
    "ImplicitlyDenied": "ImplicitDeny",
    "ExplicitlyDenied": "ExplicitDeny",
    "Error": "Error",
}


class OracleUnavailable(Exception):
    """node, the oracle script or its npm packages are missing; the message says which."""


def node_modules() -> Path:
    return Path(os.environ.get("IAMSIM_NODE_MODULES", DEFAULT_MODULES))


def unavailable_reason() -> str | None:
    """Why the oracle cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed"

    if not ORACLE_SCRIPT.is_file():
        return f"the oracle script is missing ({ORACLE_SCRIPT})"

    package = node_modules() / "@cloud-copilot" / "iam-simulate"
    if not package.is_dir():
        return (
            f"@cloud-copilot/iam-simulate is not installed in {node_modules()} "
            "(see tests/iam/oracle.py; .ci/run installs it)"
        )

    return None


class Oracle:
    """One long-running oracle process: a case in, its decision out, line by line."""

    def __init__(self) -> None:
        reason = unavailable_reason()
        if reason is not None:
            raise OracleUnavailable(reason)

        env = {**os.environ, "IAMSIM_NODE_MODULES": str(node_modules())}
        self._process = subprocess.Popen(
            ["node", str(ORACLE_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            bufsize=1,
        )

    def decide(self, case: dict[str, Any], *, timeout: float = 30) -> dict[str, Any]:
        """The oracle's answer for one case in the shared format, decision in fnurl's words."""
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(case) + "\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline() if ready else ""
        if not line:
            raise OracleUnavailable(f"the oracle stopped answering: {self._stderr()}")

        answer: dict[str, Any] = json.loads(line)
        answer["decision"] = DECISIONS[answer["decision"]]
        return answer

    def close(self) -> None:
        process = self._process
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    def _stderr(self) -> str:
        process = self._process
        if process.poll() is None or process.stderr is None:
            return "no answer in time"

        return process.stderr.read().strip() or f"exit status {process.returncode}"
