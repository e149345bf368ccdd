"""Where the processes of one host write their Prometheus samples for /metrics to add up.

prometheus-client's multiprocess mode reads PROMETHEUS_MULTIPROC_DIR when it is imported, so a
launcher (`vkpipe worker`, `vkpipe serve-health`, ...) sets it before anything imports it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from parser_pipeline.constants import PROMETHEUS_MULTIPROC_ENV
from parser_pipeline.errors import ConfigError
from parser_pipeline.settings import Settings

ENV_VAR = PROMETHEUS_MULTIPROC_ENV


def metrics_dir(settings: Settings) -> Path | None:
    """The directory set, or in distributed mode one per deployment (named after its database).

    Every vkpipe process of one deployment on a host has the same database URL, so they meet in
    the same directory without being told; another deployment on the host gets another one.
    Embedded mode keeps its metrics in its one process.
    """
    if settings.metrics_dir is not None:
        return settings.metrics_dir
    if settings.embedded:
        return None
    digest = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"vkpipe-metrics-{digest}"


def prepare(settings: Settings) -> Path | None:
    """Create the directory and point this process (and its children) at it."""
    path = metrics_dir(settings)
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"{ENV_VAR}: cannot create {path} ({exc.strerror}); point it at a writable directory"
        ) from None
    os.environ[ENV_VAR] = str(path)
    return path
