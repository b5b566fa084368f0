"""A node follows runs executing elsewhere by the store's notifications: on PostgreSQL an
append wakes a waiting reader at once (its fallback poll is far longer than the test allows);
on SQLite readers poll."""

from __future__ import annotations

import asyncio
import time

from stepwork._server.follow import SQLITE_POLL, StoreFollower
from stepwork._stores.protocol import JournalBatch
from stepwork._stores.url import store_from_url


async def test_an_append_in_another_connection_wakes_a_waiting_reader(store_url: str) -> None:
    writer, reader = store_from_url(store_url), store_from_url(store_url)
    await writer.open()
    await reader.open()
    follower = StoreFollower(reader)
    await follower.start()
    try:
        await writer.append(
            JournalBatch("r", 0, [{"kind": "x"}], workflow="w", created_at=time.time())
        )
        with follower.watch("r") as watch, follower.watch("other") as other:
            if store_url.startswith("postgresql"):
                assert follower.notifies
                watch._interval = other._interval = 60.0  # only a notification can wake them
            else:
                assert (follower.notifies, follower.interval) == (False, SQLITE_POLL)
            watch.clear()
            other.clear()
            waiting = asyncio.ensure_future(watch.changed())
            await writer.append(JournalBatch("r", 1, [{"kind": "x"}]))
            await asyncio.wait_for(waiting, 10)  # woken: the append NOTIFYs run "r"
            assert (await reader.get_run("r")).ticks == 2
            if store_url.startswith("postgresql"):
                assert not other._event.is_set()  # a notification wakes that run's readers only
    finally:
        await follower.close()
        await writer.close()
        await reader.close()
