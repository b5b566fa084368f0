"""Send one traced stepwork run to Arize Phoenix (or any OTLP/HTTP backend) and screenshot it.

Optional, not run by the tests: it made ``docs/images/phoenix-trace.png`` for
``docs/observability.md``. It needs ``opentelemetry-sdk`` and
``opentelemetry-exporter-otlp-proto-http`` (both in the dev extra), a backend listening for
OTLP/HTTP, and for the screenshot Chromium. Phoenix in a throwaway virtualenv, not a project
dependency::

    python3 -m venv /tmp/phoenix && /tmp/phoenix/bin/pip install arize-phoenix
    PHOENIX_WORKING_DIR=/tmp/phoenix-data /tmp/phoenix/bin/phoenix serve &
    .venv/bin/python scripts/observability_screenshot.py --png docs/images/phoenix-trace.png

The run: a caller's span ``handle order`` starts a ``checkout`` run journaled to a SQLite file;
its first ``price`` attempt fails and is retried, ``approve`` waits for a person (the script
answers), ``pay`` ends it. The trace id is printed; with ``--png`` the script opens Phoenix's
page of that trace in headless Chromium and saves a screenshot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

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
from stepwork.retry_policy import retry_policy, stop_after_attempt, wait_fixed

PROJECT = "stepwork"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


class Priced(Event):
    price: int


class Approved(Event):
    price: int


class Question(InputRequiredEvent):
    prompt: str


class Answer(HumanResponseEvent):
    approved: bool


class Checkout(Workflow):
    """Price (retried once), wait for a person's approval, pay."""

    @step(retry_policy=retry_policy(wait=wait_fixed(0.05), stop=stop_after_attempt(3)))
    async def price(self, ctx: Context, ev: StartEvent) -> Priced:
        await asyncio.sleep(0.02)  # the price service
        if ctx.retry_info().retry_number == 0:
            raise ConnectionError("price service timed out")
        return Priced(price=42)

    @step
    async def approve(self, ctx: Context, ev: Priced) -> Approved | StopEvent:
        answer = await ctx.wait_for_event(Answer, waiter_event=Question(prompt=f"{ev.price}?"))
        return Approved(price=ev.price) if answer.approved else StopEvent(result="declined")

    @step
    async def pay(self, ev: Approved) -> StopEvent:
        await asyncio.sleep(0.03)  # the payment provider
        return StopEvent(result=f"paid {ev.price}")


async def one_run(database: Path) -> str:
    """Run ``checkout`` once under a caller's span; return the trace id (32 hex digits)."""
    workflow = Checkout(store=f"sqlite:///{database}", timeout=60, workflow_name="checkout")
    tracer = trace.get_tracer("shop")
    with tracer.start_as_current_span("handle order") as caller:
        handler = workflow.run(run_id="order-17", item="book")
        async for event in handler.stream_events():
            if isinstance(event, Question):
                await asyncio.sleep(0.2)  # the person thinks
                await handler.send_event(Answer(approved=True))
        say(f"result: {await handler}")
    assert workflow.store is not None
    await workflow.store.close()
    return f"{caller.get_span_context().trace_id:032x}"


def graphql(phoenix: str, query: str) -> Any:
    """The ``data`` of Phoenix's answer to a GraphQL ``query``."""
    body = json.dumps({"query": query}).encode()
    request = urllib.request.Request(
        f"{phoenix}/graphql", body, {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)["data"]


def trace_page(phoenix: str, trace_id: str) -> str:
    """The URL of Phoenix's page of ``trace_id``, with the first (failed) ``step price``
    attempt selected so that its error and attributes show."""
    edges = graphql(phoenix, "{ projects { edges { node { id name } } } }")["projects"]["edges"]
    ids = [edge["node"]["id"] for edge in edges if edge["node"]["name"] == PROJECT]
    if not ids:
        raise SystemExit(f"Phoenix at {phoenix} has no project {PROJECT!r}: were spans sent?")
    spans = graphql(
        phoenix,
        f'{{ node(id: "{ids[0]}") {{ ... on Project {{ trace(traceId: "{trace_id}") {{ '
        "spans(first: 100) { edges { node { id name startTime } } } } } } }",
    )["node"]["trace"]["spans"]["edges"]
    prices = sorted(
        (edge["node"] for edge in spans if edge["node"]["name"] == "step price"),
        key=lambda node: node["startTime"],
    )
    selected = f"?selectedSpanNodeId={prices[0]['id']}" if prices else ""
    return f"{phoenix}/projects/{ids[0]}/traces/{trace_id}{selected}"


def screenshot(url: str, png: Path, chromium: str) -> None:
    """Save ``url`` as rendered by headless Chromium (network limited to what it loads)."""
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--hide-scrollbars", "--window-size=1400,1100",
         "--virtual-time-budget=15000", f"--screenshot={png}", url],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phoenix", default="http://127.0.0.1:6006", help="Phoenix's URL")
    parser.add_argument("--endpoint", help="OTLP/HTTP traces URL (default: PHOENIX/v1/traces)")
    parser.add_argument("--png", type=Path, help="save a screenshot of the trace here")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    resource = Resource.create({"service.name": "shop", "openinference.project.name": PROJECT})
    provider = TracerProvider(resource=resource)
    endpoint = args.endpoint or f"{args.phoenix}/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint)))
    trace.set_tracer_provider(provider)
    with tempfile.TemporaryDirectory() as folder:
        trace_id = asyncio.run(one_run(Path(folder) / "runs.db"))
    provider.shutdown()  # exports what the batch processor holds
    say(f"trace id: {trace_id}")
    if args.png is None:
        return
    time.sleep(1.0)  # Phoenix ingests asynchronously
    url = trace_page(args.phoenix, trace_id)
    say(f"screenshot of {url}")
    screenshot(url, args.png, args.chromium)


if __name__ == "__main__":
    sys.exit(main())
