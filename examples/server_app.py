"""Workflows to serve over HTTP, including one that waits for a person's answer.

Serve them (needs ``pip install 'stepwork[server]'``):

    stepwork serve examples/server_app.py --port 8000

then open http://127.0.0.1:8000/ or talk to the API with curl (see docs/http-api.md):

    curl -s -X POST localhost:8000/workflows/greeter/runs --json '{"run_id": "r1"}'
    curl -sN localhost:8000/runs/r1/events            # ... event: Question ...
    curl -s -X POST localhost:8000/runs/r1/events \\
         --json '{"type": "Answer", "data": {"text": "Ada"}}'
    curl -s localhost:8000/runs/r1                    # "status":"completed","result":"Hello, Ada!"

Run as a script, it starts a server on a free port, plays the person over HTTP and stops.
"""

from __future__ import annotations

import asyncio

from stepwork import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)


class Question(InputRequiredEvent):
    """Published for the person to answer."""

    prompt: str


class Answer(HumanResponseEvent):
    """What the person said."""

    text: str


class Progress(Event):
    """How far a countdown is."""

    left: int


class CountdownStart(StartEvent):
    """Start a countdown of ``count`` ticks, ``delay`` seconds apart."""

    count: int = 3
    delay: float = 0.01


class Greeter(Workflow):
    """Ask for a name, wait for the answer, greet."""

    @step
    async def ask(self, ev: StartEvent) -> Question:
        return Question(prompt=getattr(ev, "prompt", None) or "What is your name?")

    @step
    async def greet(self, ev: Answer) -> StopEvent:
        return StopEvent(result=f"Hello, {ev.text}!")


class Survey(Workflow):
    """Wait for an answer inside a step (``ctx.wait_for_event``)."""

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        answer = await ctx.wait_for_event(Answer, waiter_event=Question(prompt="Favourite colour?"))
        return StopEvent(result=f"noted: {answer.text}")


class Countdown(Workflow):
    """Publish ``count`` progress events, then finish."""

    @step
    async def count(self, ctx: Context, ev: CountdownStart) -> StopEvent:
        for left in range(ev.count, 0, -1):
            ctx.write_event_to_stream(Progress(left=left))
            await asyncio.sleep(ev.delay)
        return StopEvent(result=f"counted {ev.count}")


class TallyStart(StartEvent):
    """Add ``add`` to the running total."""

    add: int = 1


class Tally(Workflow):
    """Keep a running total in ``ctx.store``; continue a finished run to add to its total."""

    @step
    async def add(self, ctx: Context, ev: TallyStart) -> StopEvent:
        total = await ctx.store.get("total", default=0) + ev.add
        await ctx.store.set("total", total)
        return StopEvent(result=total)


class Fails(Workflow):
    """A step that raises: the run fails, naming the step."""

    @step
    async def explode(self, ev: StartEvent) -> StopEvent:
        raise ValueError("boom")


workflows = {
    "greeter": Greeter(timeout=None),
    "survey": Survey(timeout=None),
    "countdown": Countdown(timeout=60),
    "fails": Fails(timeout=60),
    "tally": Tally(timeout=60),
}
"""What ``stepwork serve examples/server_app.py`` serves, by name."""


def main() -> None:
    """Serve on a free port in a thread, run a greeter over HTTP as the person, stop."""
    import socket
    import tempfile
    import threading
    from pathlib import Path

    import httpx
    import uvicorn

    from stepwork.server import GracefulServer, create_app, registry_of

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(workflows, store=f"sqlite:///{Path(folder) / 'runs.db'}")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        server = GracefulServer(config, registry_of(app))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
        thread.start()
        while not server.started:
            threading.Event().wait(0.01)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with httpx.Client(base_url=base, timeout=10) as http:
            print("started:", http.post("/workflows/greeter/runs", json={"run_id": "r1"}).json())
            with http.stream("GET", "/runs/r1/events", params={"format": "ndjson"}) as stream:
                for line in stream.iter_lines():
                    print("event:", line)
                    if '"type":"Question"' in line:
                        answer = {"type": "Answer", "data": {"text": "Ada"}}
                        print("answered:", http.post("/runs/r1/events", json=answer).json())
            print("result:", http.get("/runs/r1").json()["result"])
        server.should_exit = True
        thread.join()
        sock.close()


if __name__ == "__main__":
    main()
