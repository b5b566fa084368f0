"""Journal stores for durable runs: SQLite (the default), in memory, and PostgreSQL.

Example:
    >>> from stepwork.stores import SqliteStore, store_from_url
    >>> store = store_from_url("sqlite:///:memory:")
    >>> isinstance(store, SqliteStore)
    True
"""

import sys as _sys

from stepwork._core.public_names import publish_imported as _publish_imported
from stepwork._stores.memory import MemoryStore
from stepwork._stores.postgres import PostgresStore
from stepwork._stores.protocol import JournalBatch, RunRecord, Store
from stepwork._stores.schedule_protocol import Schedule, ScheduleRecord, ScheduleStore, schedules_of
from stepwork._stores.sqlite import SqliteStore
from stepwork._stores.url import store_from_url

__all__ = [
    "JournalBatch",
    "MemoryStore",
    "PostgresStore",
    "RunRecord",
    "Schedule",
    "ScheduleRecord",
    "ScheduleStore",
    "SqliteStore",
    "Store",
    "schedules_of",
    "store_from_url",
]

_publish_imported(_sys.modules)  # loaded on first use, after ``stepwork`` published its names
