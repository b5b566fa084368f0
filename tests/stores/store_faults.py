"""Real store faults for tests: a full disk under a SQLite file, a read-only PostgreSQL database.

``FullDisk`` mounts a small tmpfs (as root; otherwise the test is skipped, saying why) and
fills it on :meth:`FullDisk.fill`, so SQLite's next write fails at the driver level with
``database or disk is full``; :meth:`FullDisk.free` deletes the filler. ``ReadOnlyDatabase``
sets ``default_transaction_read_only`` on a test database and ends its sessions, as a failover
to a read-only server would, so every write after it fails until :meth:`ReadOnlyDatabase.free`
undoes it. Nothing is mocked: the store, its driver and the server under test are the real ones.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pathlib
import subprocess
from collections.abc import Iterator
from typing import Protocol
from urllib.parse import urlsplit

import pytest

__all__ = ["FullDisk", "ReadOnlyDatabase", "full_disk"]

_PAGE = b"\0" * 4096


class FullDisk:
    """A tmpfs of ``size`` bytes mounted at ``path`` (see :func:`full_disk`)."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        self._filler = path / "filler"

    @property
    def store_url(self) -> str:
        """A SQLite journal on this disk."""
        return f"sqlite:///{self.path / 'runs.db'}"

    def fill(self) -> None:
        """Take every free byte, so the next write to the disk fails with ENOSPC."""
        descriptor = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for chunk in (_PAGE * 16, _PAGE, b"\0"):
                while True:
                    try:
                        os.write(descriptor, chunk)
                    except OSError as error:
                        if error.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(descriptor)

    def free(self) -> None:
        """Give the space back."""
        self._filler.unlink(missing_ok=True)


@contextlib.contextmanager
def full_disk(root: pathlib.Path, size: str = "4m") -> Iterator[FullDisk]:
    """A :class:`FullDisk` of ``size`` under ``root``, unmounted at the end.

    Skips the test when it cannot mount (not root, or no permission in this container).
    """
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill (a real full disk) needs root")
    path = root / "disk"
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for a full disk: {mounted.stderr.strip()}")
    try:
        yield FullDisk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


class _Psql(Protocol):
    def psql(self, sql: str, database: str = ...) -> str: ...


class ReadOnlyDatabase:
    """Switches the test database of ``dsn`` on ``server`` to read-only and back."""

    def __init__(self, server: _Psql, dsn: str) -> None:
        self.server = server
        self.dsn = dsn
        self.database = urlsplit(dsn).path.lstrip("/")

    @property
    def store_url(self) -> str:
        """The database's DSN, as a store URL."""
        return self.dsn

    def fill(self) -> None:
        """Make every new transaction read-only, and end the sessions open now (which would
        keep writing), as a failover to a read-only server does."""
        self._switch("SET default_transaction_read_only = on")

    def free(self) -> None:
        """Writable again (sessions opened while read-only are ended, so none stays so)."""
        self._switch("RESET default_transaction_read_only")

    def close(self) -> None:
        """Refuse every connection to the database (even a superuser's), ending those open,
        as a database that went away would."""
        self._switch("WITH ALLOW_CONNECTIONS false")

    def open(self) -> None:
        """Accept connections again."""
        self._switch("WITH ALLOW_CONNECTIONS true")

    def _switch(self, change: str) -> None:
        name = self.database.replace('"', '""')
        psql = self.server.psql
        psql(f'ALTER DATABASE "{name}" {change}')
        ended = psql(
            "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
            f"WHERE datname = '{self.database}' AND pid <> pg_backend_pid()"
        )
        assert ended.strip(), ended
