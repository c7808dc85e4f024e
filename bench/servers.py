"""PostgreSQL and Redis for a run, started from Debian's packages on loopback ports.

Each server lives in a temporary folder of its own, listens on 127.0.0.1 only and keeps nothing
when stopped. The tests start the servers they share this way (tests/crm/conftest.py,
tests/cluster/conftest.py), and so does bench/system_load.py for its runs on PostgreSQL.

PostgreSQL: ``initdb`` and ``pg_ctl`` of the newest /usr/lib/postgresql/<version>/bin, run as the
``postgres`` user when the caller is root (initdb refuses root). Redis: ``redis-server`` on the
path, without persistence.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server")
# What the tests run PostgreSQL with: nothing waits for the disk.
NO_SYNC = ("fsync=off", "synchronous_commit=off")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin() -> Path | None:
    """The folder of the newest PostgreSQL server binaries installed, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def _wait_for_port(port: int, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"{what} did not start")


class PostgresServer:
    """A throwaway PostgreSQL cluster; ``settings`` are ``name=value`` server settings."""

    def __init__(self, bindir: Path, settings: Sequence[str] = NO_SYNC) -> None:
        self.bindir = bindir
        self.settings = tuple(settings)
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def pid(self) -> int:
        """The postmaster's process id (the first line of postmaster.pid)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def start(self) -> None:
        if not self.data.exists():
            initdb = [str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]
            initdb += ["--no-sync", "-E", "UTF8"]
            subprocess.run(_as_postgres(initdb), check=True, capture_output=True, timeout=120)
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        options += "".join(f" -c {setting}" for setting in self.settings)
        start = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log")]
        start += ["-o", options, "-w", "start"]
        subprocess.run(_as_postgres(start), check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        """Stop at once (``-m immediate``): nothing in it is kept."""
        stop = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
        subprocess.run(_as_postgres(stop), capture_output=True, timeout=60)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    """A redis-server process on 127.0.0.1, which may be stopped and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hotline-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, 10, "redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
