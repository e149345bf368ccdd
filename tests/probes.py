"""What the e2e tests ask the fleet's HTTP servers: a GET (with basic auth), a metric's total."""

from __future__ import annotations

import base64
import re
import socket
import urllib.error
import urllib.request


def get(url: str, auth: str | None = None) -> tuple[int, str]:
    """Status and body of a GET; 0 and "" when nothing answers."""
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()
    except OSError:
        return 0, ""


def metric_sum(exposition: str, name: str) -> float:
    """The sum of a metric's samples over all its labels in a Prometheus text exposition."""
    pattern = rf"^{name}(?:{{[^}}]*}})? (\S+)$"
    return sum(float(m.group(1)) for m in re.finditer(pattern, exposition, re.MULTILINE))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
