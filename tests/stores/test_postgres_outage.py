"""A database that goes away: one line from stepwork per outage, never asyncpg's traceback.

On the real test server (``pg_server.py``): the database is made to refuse connections and
end its sessions (``ReadOnlyDatabase.close``), so the pool's background reconnects fail as
they do when PostgreSQL is down, then it accepts them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from stepwork._core.errors import StoreError
from stepwork._stores.postgres import PostgresStore

from .store_faults import ReadOnlyDatabase


class Records(logging.Handler):
    """The records of one logger, with a way to wait (on the event loop) for one to come."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._arrived = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._arrived.set()

    async def wait_for(self, wanted: Callable[[logging.LogRecord], bool]) -> logging.LogRecord:
        async with asyncio.timeout(20):
            while True:
                found = [record for record in self.records if wanted(record)]
                if found:
                    return found[0]
                self._arrived.clear()
                await self._arrived.wait()


@pytest.fixture
def stores_log() -> Iterator[Records]:
    """Every record of logger ``stepwork.stores``, DEBUG included."""
    logger = logging.getLogger("stepwork.stores")
    records, level = Records(), logger.level
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)
    yield records
    logger.removeHandler(records)
    logger.setLevel(level)


def _at(level: int) -> Callable[[logging.LogRecord], bool]:
    return lambda record: record.levelno == level


async def test_an_outage_is_one_warning_line_from_stepwork_and_its_end_one_info_line(
    postgres_server: Any,
    postgres_dsn: str,
    stores_log: Records,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fault = ReadOnlyDatabase(postgres_server, postgres_dsn)
    async with PostgresStore(postgres_dsn) as store:
        await store.create_run("r1", "flow", created_at=1.0)
        await asyncio.to_thread(fault.close)
        with pytest.raises(StoreError, match="not currently accepting connections"):
            await store.get_run("r1")
        warning = await stores_log.wait_for(_at(logging.WARNING))
        # asyncpg's pool tries again after a second: said at DEBUG, not warned again.
        await stores_log.wait_for(_at(logging.DEBUG))
        await asyncio.to_thread(fault.open)
        assert (await store.get_run("r1")).status == "running"
        await stores_log.wait_for(_at(logging.INFO))

    message = warning.getMessage()
    assert message.startswith("PostgreSQL cannot be reached (ObjectNotInPrerequisiteStateError:")
    assert "not currently accepting connections" in message
    assert "check that the database is up" in message
    assert [r.levelno for r in stores_log.records].count(logging.WARNING) == 1
    assert stores_log.records[-1].getMessage() == (
        "PostgreSQL can be reached again: a pooled connection was opened."
    )
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in stores_log.records)
    assert [r for r in caplog.records if r.name.startswith("asyncpg")] == []


def test_other_asyncpg_records_pass(caplog: pytest.LogCaptureFixture) -> None:
    from stepwork._stores.postgres_outage import REPORT, report_pool_outages

    report_pool_outages()
    report_pool_outages()
    assert logging.getLogger("asyncpg.pool").filters.count(REPORT) == 1
    logging.getLogger("asyncpg.pool").warning("Pool.close() is taking over 60 seconds")
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("asyncpg.pool", "Pool.close() is taking over 60 seconds")
    ]
