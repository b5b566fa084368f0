"""An unreachable PostgreSQL reported once, in stepwork's words, instead of asyncpg's tracebacks.

When a pooled connection breaks (the database went down, refuses connections, failed over),
asyncpg's pool reconnects in the background to keep its ``min_size`` connections, and logs
every failed try as a WARNING on logger ``asyncpg.pool`` with the whole traceback through
asyncpg's internals: a database down for a minute puts stack traces in the application's log
for a condition that is expected and that the store already reports (each store call fails
with ``StoreError``, and the server answers 503 and logs one line).

Invariants:
- asyncpg's floor-restore record (recognised by its message, nothing else) never reaches a
  handler. In its place logger ``stepwork.stores`` says in one line, without a traceback,
  that PostgreSQL cannot be reached and why: at WARNING for the first failure of an outage,
  at DEBUG for every retry after it.
- An outage ends when a pool of this process opens a connection (asyncpg calls the pool's
  ``init`` for each one, :func:`connection_opened`); that is said once at INFO, and the next
  failure is the first of a new outage. One report serves every pool of the process: with
  pools on several servers, one server's recovery makes the next failure of another a
  WARNING again, which says too much rather than too little.
- Every other asyncpg record passes untouched.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = ["FLOOR_MESSAGE", "OutageReport", "connection_opened", "report_pool_outages"]

FLOOR_MESSAGE = "Failed to restore the pool connection floor"
"""How asyncpg's pool starts the record it logs for each failed background reconnect."""

_STORES_LOG = logging.getLogger("stepwork.stores")
_HINT = (
    "the connection pool keeps reconnecting in the background, and store calls fail with "
    "StoreError until it is back: check that the database is up and accepts connections"
)


class OutageReport(logging.Filter):
    """A filter for logger ``asyncpg.pool`` that reports failed reconnects as described above."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._in_outage = False

    def filter(self, record: logging.LogRecord) -> bool:
        """Pass ``record`` unless it is asyncpg's floor-restore record, reported instead."""
        if not str(record.msg).startswith(FLOOR_MESSAGE):
            return True
        with self._lock:
            first, self._in_outage = not self._in_outage, True
        error = record.exc_info[1] if record.exc_info else None
        reason = "no reason given" if error is None else f"{type(error).__name__}: {error}"
        level = logging.WARNING if first else logging.DEBUG
        _STORES_LOG.log(level, "PostgreSQL cannot be reached (%s); %s.", reason, _HINT)
        return False

    def reachable(self) -> None:
        """A pool opened a connection: end the outage, if there was one, saying so."""
        with self._lock:
            ended, self._in_outage = self._in_outage, False
        if ended:
            _STORES_LOG.info("PostgreSQL can be reached again: a pooled connection was opened.")


REPORT = OutageReport()


def report_pool_outages() -> None:
    """Put :data:`REPORT` on logger ``asyncpg.pool`` (once per process; idempotent)."""
    pool_log = logging.getLogger("asyncpg.pool")
    if REPORT not in pool_log.filters:
        pool_log.addFilter(REPORT)


async def connection_opened(connection: Any) -> None:
    """The pool's ``init``: a new connection is proof that PostgreSQL can be reached."""
    del connection
    REPORT.reachable()
