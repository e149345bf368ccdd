"""Run compose.yaml's services as local processes the way the image and compose would run them.

What compose and the image provide is emulated, nothing else changes: the environment is
interpolated as compose does, each service gets a root of its own laid out like the image
(the Dockerfile's directories, named volumes shared between services, only the secrets it lists,
read-only code, no privilege to ignore file permissions, as the image's non-root user has none),
and hosts, ports and those paths are mapped to this machine.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probes import free_port

REPO = Path(__file__).resolve().parents[1]
# Run as root (CI), a service loses what lets root ignore file permissions, so a write to the
# read-only code or a directory the image did not create fails as it would for the image's
# non-root user. (Switching to that user cannot work here: the interpreter lives under /root.)
UNPRIVILEGED = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]
# What the image holds besides the installed packages (Dockerfile `COPY . .`, WORKDIR /app).
CODE = ("parser_pipeline", "workers", "migrations", "celeryconfig.py", "beat_schedule.py")
CLONE_NEWUTS = 0x04000000
# The longest one wait may take (a service starting on a loaded 2-core machine).
DEADLINE_SECONDS = 240.0

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, $VAR, $$
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_]\w*))"
)


class InterpolationError(ValueError):
    """A `${VAR:?message}` whose variable is missing: compose refuses the file."""


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's variable interpolation, applied to every string of a loaded compose file."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        present, current = name in env, env.get(name, "")
        usable = bool(current) if op and op.startswith(":") else present
        if op in (":-", "-"):
            return current if usable else arg
        if op in (":?", "?"):
            if not usable:
                raise InterpolationError(f"{name}: {arg or 'required'}")
            return current
        if op in (":+", "+"):
            return arg if usable else ""
        return current

    return _VARIABLE.sub(one, value)


def environment_of(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's `environment:` (a mapping or KEY=VALUE list) as strings."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {str(k): "" if v is None else str(v) for k, v in raw.items()}


def image_directories(dockerfile: Path) -> list[str]:
    """The directories the Dockerfile creates (`mkdir -p ...`): all a volume may be mounted on."""
    text = dockerfile.read_text(encoding="utf-8").replace("\\\n", " ")
    found: list[str] = []
    for match in re.finditer(r"mkdir -p ([^&\n]+)", text):
        found += [t for t in match.group(1).split() if t.startswith("/")]
    return found


def named_volumes(service: Mapping[str, Any]) -> dict[str, str]:
    """mount path -> volume name, for the service's `volumes:`."""
    mounts: dict[str, str] = {}
    for entry in service.get("volumes") or []:
        name, _, path = str(entry).partition(":")
        mounts[path.split(":")[0]] = name
    return mounts


def own_hostname(hostname: str | None) -> Callable[[], None] | None:
    """Give a child a hostname of its own, as each container has (possible only as root)."""
    if os.geteuid() != 0 or hostname is None:
        return None

    def switch() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWUTS) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUTS)")
        socket.sethostname(hostname)

    return switch


@dataclass
class Deployment:
    """compose.yaml's services on this machine: roots, environments, and the processes started."""

    root: Path
    services: dict[str, dict[str, Any]]
    secrets: dict[str, str]  # secret name -> its content
    hosts: dict[str, str]  # "postgres:5432" -> "127.0.0.1:5432"
    database: str
    dirs: list[str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, dict[str, str]] = field(default_factory=dict)
    extra_args: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def lay_out(
        cls,
        root: Path,
        compose: dict[str, Any],
        *,
        shell_env: Mapping[str, str],
        secrets: dict[str, str],
        hosts: dict[str, str],
        database: str,
    ) -> Deployment:
        """Interpolate the file and lay out the image's code, read-only."""
        services = interpolate(compose["services"], shell_env)
        app = root / "app"
        app.mkdir(parents=True)
        for name in CODE:
            source = REPO / name
            if source.is_dir():
                shutil.copytree(source, app / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, app / name)
        for path in sorted(app.rglob("*"), reverse=True):
            path.chmod(0o555 if path.is_dir() else 0o444)
        app.chmod(0o555)
        dirs = image_directories(REPO / "Dockerfile")
        return cls(root, services, secrets, hosts, database, dirs)

    def port(self, service: str, container_port: str) -> str:
        """The local port standing in for a service's published container port."""
        return self.ports.setdefault(service, {}).setdefault(container_port, str(free_port()))

    def container_root(self, service: str, replica: str) -> Path:
        """/ of one container: the image's directories, its volumes, its secrets."""
        top = self.root / "containers" / replica
        if top.exists():
            return top
        definition = self.services[service]
        mounts = named_volumes(definition)
        for directory in self.dirs:
            target = top / directory.lstrip("/")
            if directory in mounts:
                volume = self.root / "volumes" / mounts[directory]
                self._own(volume)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(volume)
            else:
                self._own(target)
        for path in mounts:
            if path not in self.dirs and not (top / path.lstrip("/")).exists():
                volume = self.root / "volumes" / mounts[path]
                self._own(volume)
                if definition.get("build"):
                    # Docker creates a mount point the image lacks as root's: not writable for
                    # the image's user.
                    volume.chmod(0o555)
                (top / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
                (top / path.lstrip("/")).symlink_to(volume)
        secret_dir = top / "run" / "secrets"
        secret_dir.mkdir(parents=True)
        for name in definition.get("secrets") or []:
            (secret_dir / name).write_text(self.secrets[name])
            (secret_dir / name).chmod(0o444)
        for own in ("tmp", "home/vkpipe"):
            self._own(top / own)
        (top / "tmp").chmod(0o1777)
        return top

    def _own(self, path: Path) -> None:
        """A directory the image gives its user (created and owned by this test's user)."""
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(path.stat().st_mode | stat.S_IRWXU)

    def localize(self, text: str, service: str, top: Path) -> str:
        """Hosts, published ports and container paths of one string, mapped to this machine."""
        for where, here in self.hosts.items():
            text = text.replace(where, here)
        text = text.replace("0.0.0.0", "127.0.0.1")
        for published in self.services[service].get("ports") or []:
            container = str(published).rsplit(":", 1)[-1]
            local = self.port(service, container)
            text = re.sub(rf"(?<=:){container}\b|^{container}$", local, text)
        prefixes = sorted({*self.dirs, *named_volumes(self.services[service]), "/run/secrets"})
        pattern = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
        text = re.sub(rf"(?<![\w./-])({pattern})(?=/|\b|$)", lambda m: f"{top}{m[1]}", text)
        for word, replacement in self.extra_args.get(service, {}).items():
            text = text.replace(word, replacement)
        return text

    def env(self, service: str, replica: str, hostname: str) -> dict[str, str]:
        """The container's environment: compose's, localized, plus what the image and the
        runtime set (PATH, HOME, HOSTNAME; PYTHONPATH stands for the image's install of /app)."""
        top = self.container_root(service, replica)
        env = {
            k: self.localize(v, service, top)
            for k, v in environment_of(self.services[service]).items()
        }
        if "VKPIPE_DATABASE_URL" in env:
            env["VKPIPE_DATABASE_URL"] = re.sub(
                r"/[^/]+$", f"/{self.database}", env["VKPIPE_DATABASE_URL"]
            )
        env.update(
            PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            HOME=str(top / "home" / "vkpipe"),
            HOSTNAME=hostname,
            TMPDIR=str(top / "tmp"),
            PYTHONPATH=str(self.root / "app"),
            PYTHONUNBUFFERED="1",
        )
        return env

    def argv(self, service: str, command: Any, top: Path) -> list[str]:
        if isinstance(command, str):
            command = ["sh", "-c", command]
        local = [self.localize(str(arg), service, top) for arg in command]
        return [*UNPRIVILEGED, *local] if os.geteuid() == 0 else local

    def start(self, service: str, replica: str | None = None, *, cwd: Path | None = None) -> None:
        replica = replica or service
        hostname = replica if replica != service else socket.gethostname()
        top = self.container_root(service, replica)
        log = (self.root / f"{replica}.log").open("wb")
        self.processes[replica] = subprocess.Popen(
            self.argv(service, self.services[service]["command"], top),
            env=self.env(service, replica, hostname),
            cwd=cwd or self.root / "app",
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=own_hostname(hostname if replica != service else None),
        )

    def run(
        self,
        service: str,
        command: list[str] | str,
        *,
        replica: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """A command in a service's container (`docker compose exec`, or a one-off service)."""
        replica = replica or service
        hostname = replica if replica != service else socket.gethostname()
        top = self.container_root(service, replica)
        return subprocess.run(
            self.argv(service, command, top),
            env=self.env(service, replica, hostname),
            cwd=self.root / "app",
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def healthy(self, service: str, replica: str | None = None) -> bool:
        test = self.services[service]["healthcheck"]["test"]
        command: list[str] | str = test[1] if test[0] == "CMD-SHELL" else test[1:]
        return self.run(service, command, replica=replica, timeout=60).returncode == 0

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Wait for an event with a deadline; the failure names it and shows every log."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}\n{self.logs()}")
            time.sleep(0.5)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}"
            for p in self.root.glob("*.log")
        )

    def stop(self) -> dict[str, int | str]:
        """SIGTERM every process, as `docker compose down` does; their exit codes."""
        import signal

        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        codes: dict[str, int | str] = {}
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes[name] = "killed"
        return codes
