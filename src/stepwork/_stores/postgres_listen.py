"""Following a PostgreSQL store's notifications: ``LISTEN`` on a connection of its own.

Appends NOTIFY the store's append channel and runs that become runnable its runnable channel,
with the run id as payload (sent when the transaction commits). Workers wait on these instead of
polling; since a notification is lost while nobody listens (or the connection drops), a
listener still polls slowly as the fallback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

from stepwork._core.errors import StoreError
from stepwork._stores.postgres_connect import import_asyncpg, redact

__all__ = ["Notice", "listen"]

Notice = Literal["append", "runnable", "limit", "schedule"]
"""What a notification says happened: to the run it names, to a schedule, or (``limit``) to
the limit and key value it names (see ``postgres_limits``)."""


@asynccontextmanager
async def listen(
    dsn: str,
    channels: dict[str, Notice],
    on_notice: Callable[[Notice, str], None],
) -> AsyncIterator[None]:
    """Call ``on_notice(kind, run_id)`` on the event loop for every notification on
    ``channels`` (channel name -> kind) while the block runs.

    Raises:
        StoreError: If asyncpg is missing or the server cannot be reached.
    """
    pg = import_asyncpg()
    try:
        connection = await pg.connect(dsn)
    except (pg.PostgresError, pg.InterfaceError, OSError) as error:
        raise StoreError(f"Cannot LISTEN on PostgreSQL at {redact(dsn)!r}: {error}") from error

    def forward(_connection: Any, _pid: int, channel: str, payload: str) -> None:
        on_notice(channels[channel], payload)

    try:
        for channel in channels:
            await connection.add_listener(channel, forward)
        yield
    finally:
        await connection.close()
