"""``ctx.collect_events`` on a driver: the collect tick, and when its answer may be given.

The tick is built on the loop's thread, against the buffer as it is then. With a journal, a
step in a worker thread gets the answer once the tick is written (and a ``JournalWriteError``
if it never is). A step on the loop's thread gets it at once: a synchronous call cannot wait for
the store. What it then does reaches the journal after the collect tick, and a crash before
that tick is written runs the step again.
"""

from __future__ import annotations

from concurrent.futures import Future as ThreadFuture
from typing import TYPE_CHECKING, Any

from stepwork._core.commands import Command, CommandCollected
from stepwork._core.errors import JournalWriteError
from stepwork._core.fanin import run_length
from stepwork._core.state import Invocation
from stepwork._core.ticks import TickCollect

if TYPE_CHECKING:
    from stepwork._runtime.driver import RunDriver

__all__ = ["collect"]


def collect(
    driver: RunDriver, invocation: Invocation, buffer_id: str, event: Any, expected: list[type]
) -> list[Any] | None:
    """Apply a ``TickCollect`` for ``invocation`` and return what the reducer released
    (``None``: not yet).

    Raises:
        JournalWriteError: In a worker thread, if the collect tick is never written.
    """

    def make_tick() -> TickCollect:
        buffer = driver.state.steps[invocation.delivery.step].buffers.get(buffer_id, ())
        count = len(expected)
        # Run-length encoding costs O(len(expected)): only when the buffer may release.
        rle = run_length(expected) if len(buffer) + 1 >= count else None
        return TickCollect(driver.now(), invocation.id, buffer_id, event, count, rle)

    if driver.on_loop_thread():
        return _released(driver.apply(make_tick()))
    done: ThreadFuture[list[Any] | None] = ThreadFuture()

    def run() -> None:
        try:
            released = _released(driver.apply(make_tick()))
        except BaseException as error:  # handed back to the calling thread
            done.set_exception(error)
            return
        if driver.journal is None:
            done.set_result(released)
        else:
            driver.keep(driver.loop.create_task(_answer_when_written(driver, released, done)))

    driver.loop.call_soon_threadsafe(run)
    return done.result()


async def _answer_when_written(
    driver: RunDriver, released: list[Any] | None, done: ThreadFuture[list[Any] | None]
) -> None:
    journal = driver.journal
    assert journal is not None
    count = journal.staged
    try:
        await journal.written(count)
    finally:
        if journal.next_seq >= count:
            done.set_result(released)
        else:  # the write failed, or this wait was cancelled with the run
            error = JournalWriteError(
                f"Run '{driver.run_id}': its collect_events tick was not written, so the "
                f"step cannot be told what it collected: {journal.failure}",
                run_id=driver.run_id,
            )
            error.__cause__ = journal.failure
            done.set_exception(error)


def _released(commands: list[Command]) -> list[Any] | None:
    """The events a collect released, from the reducer's ``CommandCollected`` for it."""
    for command in commands:
        if type(command) is CommandCollected:
            return command.events
    return None
