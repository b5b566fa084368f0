"""One thread that owns one SQLite connection.

``sqlite3`` connections belong to the thread that made them, and SQLite calls block, so each
connection of a :class:`~stepwork._stores.sqlite.SqliteStore` lives on a dedicated thread (a
single-worker executor): the event loop never waits on disk, and calls on one connection
run one at a time, in the order they were made. A call that is cancelled while waiting is
dropped; once started, it runs to its end.

The connection is closed by :meth:`SqliteWorker.close`, or else when the worker is garbage
collected (a store dropped without ``close()``, or reopened by a late journal write after it
was closed): no path leaves a connection for the interpreter to find unclosed. Connections are
made with ``check_same_thread=False`` for that last close only; every call still runs on the
worker's thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
import weakref
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from stepwork._core.errors import StoreError

__all__ = ["SqliteWorker"]

_T = TypeVar("_T")
_P = ParamSpec("_P")


class SqliteWorker:
    """A connection made by ``connect`` on a thread of its own.

    Args:
        name: The thread's name prefix.
        describe: What to call the store in errors (its ``repr``).
        path: The database file, for error messages.
    """

    def __init__(self, name: str, describe: str, path: str) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=name
        )
        self._describe = describe
        self._path = path
        self._db: sqlite3.Connection | None = None  # used on the worker thread only
        self._connected: concurrent.futures.Future[None] | None = None
        # What the finalizer closes if the worker is dropped open; it must not refer to self.
        self._open: list[sqlite3.Connection] = []
        weakref.finalize(self, _close_dropped, self._open, self._executor)

    async def open(self, connect: Callable[[], sqlite3.Connection]) -> None:
        """Make the connection on the worker thread (once; later calls wait for the first).

        Raises:
            StoreError: If ``connect`` fails with a SQLite error (or raises one itself).
        """
        if self._connected is None:
            self._connected = self._executor.submit(self._connect, connect)
        await asyncio.wrap_future(self._connected)

    async def call(
        self,
        function: Callable[Concatenate[sqlite3.Connection, _P], _T],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        """``function(connection, *args, **kwargs)`` on the worker thread.

        Raises:
            StoreError: If the connection is not open, or SQLite fails.
        """

        def job() -> _T:
            db = self._db
            if db is None:  # opening failed, and this call was queued behind it
                raise StoreError(f"{self._describe} is not open: call 'await store.open()' first.")
            try:
                return function(db, *args, **kwargs)
            except sqlite3.Error as error:
                raise StoreError(f"SQLite database {self._path!r} failed: {error}") from error

        return await asyncio.wrap_future(self._executor.submit(job))

    async def close(self) -> None:
        """Close the connection and stop the thread (it is idle afterwards)."""
        await asyncio.wrap_future(self._executor.submit(self._disconnect))
        self._executor.shutdown(wait=True)

    def _connect(self, connect: Callable[[], sqlite3.Connection]) -> None:
        try:
            self._db = connect()
        except sqlite3.Error as error:
            raise StoreError(f"Cannot open SQLite database {self._path!r}: {error}") from error
        self._open.append(self._db)

    def _disconnect(self) -> None:
        db, self._db = self._db, None
        self._open.clear()
        if db is not None:
            db.close()


def _close_dropped(
    connections: list[sqlite3.Connection], executor: concurrent.futures.ThreadPoolExecutor
) -> None:
    """Close the connection of a worker garbage collected without ``close()``.

    Nothing can be running on it: a queued or running call keeps its worker alive.
    """
    while connections:
        connections.pop().close()
    executor.shutdown(wait=False)
