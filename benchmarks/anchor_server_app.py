"""The HTTP load test's countdown workflow, written against the anchor and served by its server.

The same workflow as ``examples/server_app.py``'s ``countdown``: a start event carrying
``count`` and ``delay``, one step that publishes ``count`` ``Progress`` events ``delay``
seconds apart and stops with ``"counted {count}"``. It is served by llama-agents-server's
``WorkflowServer`` on a ``SqliteWorkflowStore`` (both with their defaults) through uvicorn, as
``benchmarks/http_load.py`` starts it in a child process:

    python -c "from benchmarks.anchor_server_app import main; main()" --port 8001 --db runs.db

(Run through ``-c`` and not ``-m`` so the event classes are named after this module, not
``__main__``.)
"""

from __future__ import annotations

import argparse
import asyncio

from llama_agents.server import SqliteWorkflowStore, WorkflowServer
from workflows import Context, Workflow, step
from workflows.events import Event, StartEvent, StopEvent


class Progress(Event):
    """How far a countdown is."""

    left: int


class CountdownStart(StartEvent):
    """Start a countdown of ``count`` ticks, ``delay`` seconds apart."""

    count: int = 3
    delay: float = 0.01


class Countdown(Workflow):
    """Publish ``count`` progress events, then finish."""

    @step
    async def count(self, ctx: Context, ev: CountdownStart) -> StopEvent:
        for left in range(ev.count, 0, -1):
            ctx.write_event_to_stream(Progress(left=left))
            await asyncio.sleep(ev.delay)
        return StopEvent(result=f"counted {ev.count}")


def build_server(db_path: str) -> WorkflowServer:
    """The anchor's server with the countdown workflow, on a SQLite store at ``db_path``."""
    server = WorkflowServer(workflow_store=SqliteWorkflowStore(db_path))
    server.add_workflow("countdown", Countdown(timeout=60))
    return server


def main() -> None:
    """Serve the countdown on 127.0.0.1 at ``--port`` with a store at ``--db``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True, help="SQLite file for the workflow store.")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    import uvicorn

    server = build_server(args.db)
    # The app's lifespan starts and stops the server's runtime.
    uvicorn.run(server.app, host="127.0.0.1", port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
