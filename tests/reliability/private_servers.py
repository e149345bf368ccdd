"""Private Redis and PostgreSQL servers a reliability test owns: it may stop, restart or wipe them.

The shared servers on 6379/5432 belong to everyone running tests; outages are staged only here.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from servicecheck import service_missing

# How long a private server may take to come up on a loaded 2-core machine.
START_DEADLINE_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class RedisServer:
    """`redis-server` without persistence: a restart forgets every queue, result and counter."""

    workdir: Path
    password: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def url(self, db: int) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:  # type: ignore[type-arg]
        return redis.Redis.from_url(self.url(db), socket_connect_timeout=2, socket_timeout=10)

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--dir", str(self.workdir)]  # fmt: skip
        if self.password:
            args += ["--requirepass", self.password]
        log = (self.workdir / f"redis-{self.port}.log").open("ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while True:
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"private redis-server on {self.port} did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        """Kill it (SIGKILL, so nothing is saved anywhere), and wait until the port is closed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None
        while port_open(self.port):
            time.sleep(0.05)


def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    located = shutil.which(name)
    if located is None:
        raise FileNotFoundError(name)
    return located


@dataclass
class PostgresCluster:
    """A throwaway PostgreSQL cluster on a free port; as root, run as the `postgres` user."""

    workdir: Path
    port: int = field(default_factory=free_port)
    auth: str = "trust"
    superuser_password: str | None = None

    @property
    def data(self) -> Path:
        return self.workdir / "data"

    def _run(self, *args: str) -> None:
        prefix: list[str] = []
        if os.geteuid() == 0:
            prefix = ["runuser", "-u", "postgres", "--"]
        done = subprocess.run([*prefix, *args], capture_output=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr.decode()[-500:]}")

    def init(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)
        if os.geteuid() == 0:
            uid = pwd.getpwnam("postgres").pw_uid
            os.chown(self.workdir, uid, -1)
        args = [_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-N",
                f"--auth={self.auth}"]  # fmt: skip
        if self.superuser_password:
            pwfile = self.workdir / "pwfile"
            pwfile.write_text(self.superuser_password)
            if os.geteuid() == 0:
                os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
            args.append(f"--pwfile={pwfile}")
        self._run(*args)

    def _options(self) -> str:
        return (f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")  # fmt: skip

    def start(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", self._options(),
                  "-l", str(self.workdir / "log"), "-w", "-t", "60", "start")  # fmt: skip

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every session is terminated, open transactions roll back."""
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", self._options(),
                  "-l", str(self.workdir / "log"), "-m", "fast", "-w", "-t", "60",
                  "restart")  # fmt: skip

    def stop_fast(self) -> None:
        """`pg_ctl stop -m fast`: sessions are cut, open transactions roll back, nothing listens."""
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                      "stop")  # fmt: skip

    def url(self, database: str = "postgres", user: str = "postgres",
            password: str | None = None) -> str:  # fmt: skip
        auth = f"{user}:{password}" if password else user
        return f"postgresql+psycopg://{auth}@127.0.0.1:{self.port}/{database}"


def pg_cluster(**kwargs: Any) -> Iterator[PostgresCluster]:
    """A started cluster in a fresh directory; missing binaries skip (fail under CI=true)."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) and not shutil.which("initdb"):
        service_missing("PostgreSQL binaries (initdb, pg_ctl)", "not installed")
    # Outside pytest's tmp_path: its parents are private to the test's user, and PostgreSQL
    # refuses to run as root, so the cluster lives where the `postgres` user can reach it.
    workdir = Path(tempfile.mkdtemp(prefix="vkpipe-reliability-pg-"))
    cluster = PostgresCluster(workdir, **kwargs)
    try:
        cluster.init()
        cluster.start()
    except Exception as exc:
        service_missing("a private PostgreSQL cluster", exc)
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
