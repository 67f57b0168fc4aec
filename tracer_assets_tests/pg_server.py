"""A throwaway PostgreSQL for tests, from Debian's server binaries: initdb + pg_ctl on a free loopback
port, a temp data folder, the socket in that folder; stopped by its PID. Missing binaries fail the
test (they are installed by ``.ci/run`` and ``make test``), never skip it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
RUN_AS = "nobody"  # the server refuses to run as root


def find_pg_bin(pattern: str = PG_BIN_GLOB) -> Path:
    """The newest Debian PostgreSQL server bin folder holding initdb and pg_ctl; fails the test if none."""
    found = sorted(
        (
            p
            for p in Path("/").glob(pattern.lstrip("/"))
            if (p / "initdb").exists() and (p / "pg_ctl").exists()
        ),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not found:
        pytest.fail(
            f"PostgreSQL server binaries (initdb, pg_ctl) not found under {pattern}: "
            "install them with `apt-get install -y postgresql-15` (.ci/run and `make test` do this)",
            pytrace=False,
        )
    return found[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", RUN_AS, "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def throwaway_postgres() -> Iterator[dict[str, str]]:
    """Yields host, port, user and database of a fresh server with trust auth on 127.0.0.1."""
    pg_bin = find_pg_bin()
    tmp = Path(tempfile.mkdtemp(prefix="tracer-pg-"))
    if os.geteuid() == 0:
        shutil.chown(tmp, RUN_AS)
    data, port = tmp / "data", free_port()
    pid = None
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(pg_bin / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {tmp} -h 127.0.0.1 -F"  # -F: no fsync, a test database
        subprocess.run(
            _as_server_user(
                [
                    str(pg_bin / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(tmp / "log"),
                    "-o",
                    options,
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield {"host": "127.0.0.1", "port": str(port), "user": "postgres", "db": "postgres", "pid": str(pid)}
    finally:
        if pid is not None:
            _stop(pid)
        shutil.rmtree(tmp, ignore_errors=True)


def _stop(pid: int, wait_s: float = 30.0) -> None:
    """Fast shutdown by PID (SIGINT), then SIGKILL if it is still there."""
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
