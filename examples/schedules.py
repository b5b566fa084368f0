"""Start a workflow on a schedule: durable, fired once per slot by whichever worker is up.

A schedule lives in the store, so it outlives every process: any worker serving its workflow
(``stepwork worker``, ``stepwork serve --workers N``, or a ``Worker`` in your own program, as
here) fires its slots, each exactly once across all of them. Run it with ``python
examples/schedules.py``; it takes about three seconds.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path

from stepwork import Schedule, StartEvent, StopEvent, Workflow, step
from stepwork.stores import SqliteStore
from stepwork.workers import Worker  # what `stepwork worker` runs


class Report(StartEvent):
    """Which report to write."""

    team: str


class NightlyReport(Workflow):
    """Writes a team's report (here: says so)."""

    @step
    async def write(self, ev: Report) -> StopEvent:
        return StopEvent(result=f"report for {ev.team}")


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(Path(folder) / "runs.db")
        await store.open()
        schedules = store.schedules
        # In production: cron="0 3 * * *", tz="Europe/Paris". Every second keeps this short.
        await schedules.add(
            Schedule(
                "reports",
                workflow="nightly",
                every=timedelta(seconds=1),
                start={"team": "search"},
                missed="latest",  # after downtime, fire the most recent missed slot once
            )
        )
        print("added:", (await schedules.get("reports")).schedule.describe())

        flow = NightlyReport(workflow_name="nightly", timeout=None)
        worker = Worker([flow], store)  # fires due slots and runs what they start
        stop = asyncio.Event()
        working = asyncio.create_task(worker.run(stop))
        while True:  # until two scheduled runs have completed
            done = [run for run in await store.list_runs() if run.status == "completed"]
            if len(done) >= 2:
                break
            await asyncio.sleep(0.1)
        await schedules.pause("reports")  # no more slots fire until it is resumed
        stop.set()
        await working

        for run in sorted(done, key=lambda run: run.run_id)[:2]:
            kind = "named NAME:SLOT" if run.run_id.startswith("reports:2") else run.run_id
            print(f"scheduled run {kind}: {run.result['result']}")
        record = await schedules.get("reports")
        print("paused:", record.paused, "| last run is a slot's:", record.last_run is not None)
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
