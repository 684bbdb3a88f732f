"""The image's HEALTHCHECK: exit 0 once fnurl answers /_fnurl/health with 200."""

import os
import sys
import urllib.request

port = os.environ.get("FNURL_PORT", "9000")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_fnurl/health", timeout=2) as reply:
        sys.exit(0 if reply.status == 200 else 1)
except OSError:
    sys.exit(1)
