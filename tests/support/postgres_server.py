"""A throwaway PostgreSQL 15 server for the test session.

The server runs as the `postgres` OS user (initdb refuses root), listens on 127.0.0.1 on a free port
and on a unix socket inside its own temporary directory, requires SCRAM passwords for every
connection (so the app-user login tests mean something) and logs every DDL and data-changing
statement to a file, which tests read to verify independently what the server really executed.
fsync is off for speed, but commits still reach the WAL (synchronous_commit stays on), so a test
that kills the server sees what a real server would have kept.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

SERVER_USER = "postgres"
DEFAULT_BINDIR = Path("/usr/lib/postgresql/15/bin")
LOG_LINE_PREFIX = "%m [%p] app=%a db=%d user=%u: "
LOG_ENTRY_START = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \S+ \[\d+\] ")
"""How a line that LOG_LINE_PREFIX starts begins (`%m [%p] `); other lines continue an entry."""


class ServerUnavailableError(RuntimeError):
    """No PostgreSQL server binaries were found on this machine."""


def find_bindir() -> Path:
    """Find initdb/pg_ctl: $PG_BINDIR, the Debian PostgreSQL 15 path, `pg_config --bindir`."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    candidates.append(DEFAULT_BINDIR)
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    searched = ", ".join(str(c) for c in candidates)
    raise ServerUnavailableError(
        f"PostgreSQL server binaries (initdb, pg_ctl) not found in: {searched}"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class ServerInfo:
    host: str
    port: int
    admin_user: str
    admin_password: str
    socket_dir: Path
    log_path: Path

    def dsn(self, dbname: str = "postgres", **overrides: str) -> str:
        """Admin DSN (URL form, password included) for `dbname`."""
        user = overrides.pop("user", self.admin_user)
        password = overrides.pop("password", self.admin_password)
        query = "".join(f"&{key}={value}" for key, value in overrides.items())
        return (
            f"postgresql://{user}:{password}@{self.host}:{self.port}/{dbname}"
            f"?connect_timeout=10{query}"
        )

    def conninfo(self, dbname: str = "postgres", **overrides: str) -> str:
        return make_conninfo(self.dsn(dbname), **overrides)

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace")


class PostgresServer:
    """Owns the data directory and the server process; `start()` then `stop()`."""

    def __init__(self, bindir: Path, settings: dict[str, str] | None = None) -> None:
        self._bindir = bindir
        self._extra_settings = dict(settings or {})
        self._root = Path(tempfile.mkdtemp(prefix="pgtest-"))
        self._data = self._root / "data"
        self._log = self._root / "server.log"
        self._info: ServerInfo | None = None

    @property
    def info(self) -> ServerInfo:
        if self._info is None:
            raise RuntimeError("server not started")
        return self._info

    @property
    def data_directory(self) -> Path:
        return self._data

    def _as_server_user(self, argv: Sequence[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", SERVER_USER, "--", *argv]
        return list(argv)

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def start(self) -> ServerInfo:
        """initdb, then launch the server on a free port."""
        admin_password = secrets.token_urlsafe(18)
        self._chown(self._root)
        pwfile = self._root / "pwfile"
        pwfile.write_text(admin_password + "\n")
        self._chown(pwfile)
        pwfile.chmod(0o600)
        self._run(
            [
                str(self._bindir / "initdb"),
                "--pgdata",
                str(self._data),
                "--username",
                SERVER_USER,
                "--pwfile",
                str(pwfile),
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ]
        )
        pwfile.unlink()
        self._log.touch()
        self._chown(self._log)
        self._info = ServerInfo(
            host="127.0.0.1",
            port=free_port(),
            admin_user=SERVER_USER,
            admin_password=admin_password,
            socket_dir=self._root,
            log_path=self._log,
        )
        self.launch()
        return self._info

    def launch(self) -> None:
        """Start the server process on the existing data directory and wait until it accepts."""
        settings = {
            "port": str(self.info.port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self._root),
            "fsync": "off",
            "full_page_writes": "off",
            "log_statement": "mod",
            "log_line_prefix": LOG_LINE_PREFIX,
            "max_connections": "60",
            **self._extra_settings,
        }
        options = " ".join(f"-c {key}='{value}'" for key, value in settings.items())
        self._run(
            [
                str(self._bindir / "pg_ctl"),
                "--pgdata",
                str(self._data),
                "--log",
                str(self._log),
                "--options",
                options,
                "--wait",
                "--timeout",
                "60",
                "start",
            ]
        )
        self._wait_ready()

    def crash(self) -> None:
        """Stop the server the hard way (immediate mode), as a power cut would."""
        self._run(
            [
                str(self._bindir / "pg_ctl"),
                "--pgdata",
                str(self._data),
                "--mode",
                "immediate",
                "--wait",
                "stop",
            ]
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.info.conninfo(), autocommit=True) as conn:
                    conn.execute("SELECT 1")
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        try:
            if self._data.exists():
                self._run(
                    [
                        str(self._bindir / "pg_ctl"),
                        "--pgdata",
                        str(self._data),
                        "--mode",
                        "immediate",
                        "--wait",
                        "stop",
                    ],
                    check=False,
                )
        finally:
            shutil.rmtree(self._root, ignore_errors=True)

    def _run(self, argv: Sequence[str], *, check: bool = True) -> None:
        result = subprocess.run(
            self._as_server_user(argv),
            capture_output=True,
            text=True,
            check=False,
            cwd=self._root,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{Path(argv[0]).name} failed (exit {result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
