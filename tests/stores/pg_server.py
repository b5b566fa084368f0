"""A real PostgreSQL server for the tests, started from Debian's ``postgresql`` package.

``postgres_server`` (session scope) runs ``initdb`` and ``pg_ctl -w start`` in a temporary
directory, listening on a unix socket in that directory and on 127.0.0.1 at a free port, and
stops it (``pg_ctl -m fast stop``) and removes the directory when the session ends.
``postgres_dsn`` (function scope) gives each test an empty database of its own on that server,
so tests never see each other's runs. PostgreSQL refuses to run as root; as root the server runs
as the ``postgres`` user (or ``nobody``) through ``runuser``.

No mocks and no skipping: if the server binaries are missing, the fixture fails and says how to
install them. ``python -m tests.stores.pg_server`` (``scripts/postgres-for-tests.sh``) runs the
same server by hand, e.g. for benchmarks, until interrupted.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

__all__ = [
    "PostgresServer", "find_bin_dir", "main", "postgres_dsn", "postgres_server", "running_server",
]  # fmt: skip

SUPERUSER = "stepwork"
# Durability is not under test here, speed is: a crash of the test server loses nothing we need.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
    "max_wal_size": "'64MB'",
    "min_wal_size": "'4MB'",
}
# CREATE DATABASE writes a few MB; on a tmpfs it takes ~10 ms, on a VM's disk ~250 ms.
_RAM_DISK, _RAM_DISK_NEEDED = pathlib.Path("/dev/shm"), 1 << 30
_MISSING = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin. "
    "Install Debian's package: `apt-get install postgresql` (or run `bash scripts/test-deps.sh`, "
    "which `make test` runs)."
)
_database_numbers = itertools.count()


@dataclass(frozen=True)
class PostgresServer:
    """A running test server.

    Attributes:
        bin_dir: Where ``initdb``, ``pg_ctl`` and ``psql`` live.
        socket_dir: The directory holding the server's unix socket.
        port: The TCP port on 127.0.0.1 (also the unix socket's number).
        user: The superuser to connect as (no password: ``trust`` authentication).
    """

    bin_dir: pathlib.Path
    socket_dir: pathlib.Path
    port: int
    user: str = SUPERUSER

    def dsn(self, database: str = "postgres") -> str:
        """A TCP DSN for ``database`` on this server."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with ``psql`` over the unix socket; its output.

        Raises:
            subprocess.CalledProcessError: If ``psql`` fails (its stderr is in the error).
        """
        command = [str(self.bin_dir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        command += ["-h", str(self.socket_dir), "-p", str(self.port), "-U", self.user]
        command += ["-d", database, "-c", sql]
        done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=30)
        return done.stdout


def find_bin_dir() -> pathlib.Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb`` and ``pg_ctl``."""
    found = [
        path
        for path in pathlib.Path("/usr/lib/postgresql").glob("*/bin")
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file()
    ]
    return max(
        found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, default=None
    )


def _temporary_root() -> pathlib.Path:
    """A new directory for the server, in RAM when there is room, with a short path (unix
    socket paths are limited to about 100 bytes)."""
    parent = None
    if _RAM_DISK.is_dir() and os.access(_RAM_DISK, os.W_OK):
        stat = os.statvfs(_RAM_DISK)
        parent = _RAM_DISK if stat.f_bavail * stat.f_frsize >= _RAM_DISK_NEEDED else None
    return pathlib.Path(tempfile.mkdtemp(prefix="stepwork-pg-", dir=parent or "/tmp"))


def _server_user() -> str | None:
    """The OS user the server runs as: ``None`` (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    subprocess.run(["useradd", "--system", "--no-create-home", "stepwork-pg"], check=True)
    return "stepwork-pg"


def _run(command: list[str], user: str | None, *, timeout: float = 60) -> None:
    if user is not None:
        command = ["runuser", "-u", user, "--", *command]
    # The server is started with -l, so it never holds our pipes open after pg_ctl returns.
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(
    bin_dir: pathlib.Path, root: pathlib.Path, user: str | None, extra: dict[str, str]
) -> int:
    data, log = root / "data", root / "server.log"
    _run([str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
          "--locale=C", "--no-sync", "--no-instructions", "--wal-segsize=1"], user)  # fmt: skip
    with (data / "postgresql.conf").open("a") as conf:
        for key, value in {**SERVER_SETTINGS, **extra}.items():
            conf.write(f"{key} = {value}\n")
        conf.write(f"unix_socket_directories = '{root}'\n")
    last_error: RuntimeError | None = None
    for _attempt in range(3):  # a free port can be taken between probing and binding
        port = _free_port()
        try:
            _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "30",
                  "-o", f"-p {port}", "start"], user)  # fmt: skip
        except RuntimeError as error:
            last_error = RuntimeError(f"{error}\nserver log:\n{log.read_text(errors='replace')}")
            continue
        return port
    assert last_error is not None
    raise last_error


@contextlib.contextmanager
def running_server(settings: dict[str, str] | None = None) -> Iterator[PostgresServer]:
    """Start a server in a new temporary directory; stop it and remove the directory on exit.

    ``settings``: more ``postgresql.conf`` lines (name -> value as written there), e.g.
    ``{"shared_preload_libraries": "'pg_stat_statements'"}`` for a benchmark that counts
    statements.

    Raises:
        RuntimeError: If the server binaries are missing (the message says how to install
            them), or ``initdb``/``pg_ctl`` fail (with their output and the server log).
    """
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError(_MISSING)
    user = _server_user()
    root = _temporary_root()
    try:
        if user is not None:
            shutil.chown(root, user)
        port = _start(bin_dir, root, user, settings or {})
        try:
            yield PostgresServer(bin_dir=bin_dir, socket_dir=root, port=port)
        finally:
            _run([str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop"],
                 user)  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole test session (see the module docstring)."""
    if find_bin_dir() is None:
        pytest.fail(_MISSING, pytrace=False)
    with running_server() as server:
        yield server


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """A DSN for a new, empty database on the session's server; dropped after the test."""
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    postgres_server.psql(f"CREATE DATABASE {name}")
    try:
        yield postgres_server.dsn(name)
    finally:
        postgres_server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


BACKENDS = ["sqlite", "postgres"]
"""Parameters for a fixture that gives a store URL on each backend, with :func:`store_url_for`."""


def store_url_for(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """A URL for a fresh, empty journal on ``request.param``'s backend: a SQLite file in
    ``tmp_path``, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}"
    dsn: str = request.getfixturevalue("postgres_dsn")
    return dsn


def main() -> None:
    """Run a throwaway server by hand (``scripts/postgres-for-tests.sh``) until interrupted.

    Writes ``STEPWORK_PG_DSN=<dsn>`` (a database named ``stepwork``) on stdout, then waits for
    Ctrl-C or SIGTERM, then stops the server and deletes its directory.
    """
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with running_server() as server:
        server.psql("CREATE DATABASE stepwork")
        sys.stdout.write(f"STEPWORK_PG_DSN={server.dsn('stepwork')}\n")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
