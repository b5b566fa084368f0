"""The self-contained HTML page: its text, and the page itself in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from browser import Browser, Page, chromium_path
from samples import Answer, Fetched, Question, Showcase, get_client
from samples import Page as PageEvent

from stepwork import (
    Resource,
    StartEvent,
    StopEvent,
    Workflow,
    retry_policy,
    step,
    stop_after_attempt,
    wait_fixed,
)
from stepwork._drawing.html import graph_to_html, script_json
from stepwork._drawing.model import WorkflowGraph
from stepwork._drawing.trace import RunTrace
from stepwork._runtime.trace_source import run_trace
from stepwork.drawing import workflow_graph

HOSTILE = '</script><script>window.pwned = 1</script><!-- & </SCRIPT > \u2028 "quotes"'
VIEWPORT_WIDTH = 1400  # Browser.open's default
Client = Annotated[dict[str, str], Resource(get_client)]


class Pipeline(Workflow):
    """Split pages, fetch them (one fails once and is retried), ask a person, finish."""

    failures = 0

    @step
    async def split(self, ev: StartEvent) -> list[PageEvent]:
        """One page per url."""
        return [PageEvent(url=url) for url in ev.urls]

    @step(num_workers=2, retry_policy=retry_policy(wait=wait_fixed(0), stop=stop_after_attempt(3)))
    async def fetch(self, ev: PageEvent, client: Client) -> Fetched:
        """Fetch one page; page "b" fails on its first attempt."""
        if ev.url == "b" and Pipeline.failures == 0:
            Pipeline.failures += 1
            raise ConnectionError("connection reset")
        return Fetched(url=ev.url, size=len(client))

    @step
    async def combine(self, pages: list[Fetched]) -> Question:
        return Question(prompt=f"Publish {len(pages)} pages?")

    @step
    async def confirm(self, ev: Answer) -> StopEvent:
        return StopEvent(result=ev.text)


class Hostile(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent()


Hostile.__doc__ = HOSTILE
Hostile.start.__doc__ = HOSTILE  # type: ignore[attr-defined]


async def pipeline_trace() -> RunTrace:
    Pipeline.failures = 0
    handler = Pipeline(timeout=10).run(urls=["a", "b", "c"])
    async for event in handler.stream_events():
        if isinstance(event, Question):
            await handler.send_event(Answer(text="yes"))
    assert await handler == "yes"
    return run_trace(handler)


# -- the page's text ---------------------------------------------------------------------------


def embedded_data(page: str) -> Any:
    match = re.search(
        r'<script type="application/json" id="stepwork-data">(.*?)</script>', page, re.S
    )
    assert match is not None
    return json.loads(match.group(1))


def test_the_page_fetches_nothing_and_embeds_the_graph() -> None:
    graph = workflow_graph(Showcase)
    page = graph_to_html(graph, title="Showcase <drawn>")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<title>Showcase &lt;drawn&gt;</title>" in page
    assert not re.search(r"<link|<img|<iframe|\bsrc=|\bhref=|@import|url\((?!#)", page)
    assert re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg"]
    data = embedded_data(page)
    assert data["graph"] == json.loads(json.dumps(graph.to_dict()))
    assert data["trace"] is None
    assert page == graph_to_html(graph, title="Showcase <drawn>")


def test_a_docstring_cannot_close_the_data_block() -> None:
    page = graph_to_html(workflow_graph(Hostile))
    assert page.lower().count("</script") == 2  # the data block's and the script's own
    assert "<!--" not in page
    assert embedded_data(page)["graph"]["description"] == HOSTILE
    text = script_json({"a": HOSTILE, "nan": float("nan"), "inf": [float("inf")], "obj": Path("x")})
    assert not re.search(r"[<>&\u2028\u2029]", text)
    assert json.loads(text) == {"a": HOSTILE, "nan": None, "inf": [None], "obj": "x"}


async def test_the_trace_is_embedded() -> None:
    trace = await pipeline_trace()
    data = embedded_data(graph_to_html(workflow_graph(Pipeline), trace=trace))
    assert data["trace"] == json.loads(json.dumps(trace.to_dict()))


# -- in Chromium -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module's tests."""
    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing; scripts/test-deps.sh installs it")
        pytest.skip("chromium is not installed (scripts/test-deps.sh installs it)")
    with Browser.launch() as running:
        yield running


def load(browser: Browser, path: Path, page_text: str) -> Page:
    path.write_text(page_text, encoding="utf-8")
    page = browser.open(path.as_uri())
    assert page.wait_for("document.body.dataset.ready") == "true", page.errors
    return page


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 800 and height >= 400 and len(data) > 10_000


def texts(page: Page, selector: str) -> list[str]:
    found: list[str] = page.evaluate(
        f"[...document.querySelectorAll({json.dumps(selector)})].map((e) => e.textContent)"
    )
    return found


def click(page: Page, selector: str) -> None:
    page.evaluate(
        f"document.querySelector({json.dumps(selector)})"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}))"
    )


def node_boxes(page: Page) -> list[list[float]]:
    boxes: list[list[float]] = page.evaluate(
        "[...document.querySelectorAll('#graph .node .shape')].map((s) => {"
        " const r = s.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })"
    )
    return boxes


def assert_apart(boxes: list[list[float]]) -> None:
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_every_sample_graph_draws_cleanly(
    browser: Browser, tmp_path: Path, sample_graph: WorkflowGraph
) -> None:
    page = load(browser, tmp_path / "sample.html", graph_to_html(sample_graph))
    assert len(texts(page, "#graph .node")) == len(sample_graph.nodes)
    assert len(texts(page, "#graph .edge")) == len(sample_graph.edges)
    assert_apart(node_boxes(page))
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT_WIDTH
    assert page.errors == []


def test_the_graph_page_draws_every_kind_of_node(browser: Browser, tmp_path: Path) -> None:
    graph = workflow_graph(Showcase)
    page = load(browser, tmp_path / "showcase.html", graph_to_html(graph))

    steps = [node.label for node in graph.nodes if node.kind == "step"]
    assert sorted(texts(page, "#graph .node[data-kind=step] .label")) == sorted(steps)
    roles = set(
        page.evaluate("[...document.querySelectorAll('#graph .node')].map(n => n.dataset.role)")
    )
    assert roles == {
        "step",
        "event",
        "start",
        "stop",
        "input_required",
        "human_response",
        "external",
        "resource",
        "workflow",
    }
    assert len(texts(page, "#graph .edge")) == len(graph.edges)
    assert texts(page, "#title") == ["Showcase"]
    assert_apart(node_boxes(page))

    assert_png(page.screenshot(tmp_path / "showcase.png"))

    click(page, '#graph .node[data-id="fetch"]')
    assert texts(page, "#details h3") == ["fetch"]
    details = page.evaluate("document.getElementById('details').textContent")
    assert "Fetch one page with the shared client." in details and "get_client (client)" in details
    click(page, '#graph .node[data-id="Page"]')
    schema = json.loads(texts(page, "#details pre")[0])
    assert schema["properties"]["url"]["type"] == "string"

    assert page.errors == [] and page.requests == [(tmp_path / "showcase.html").as_uri()]


async def test_the_trace_page_shows_a_timeline(browser: Browser, tmp_path: Path) -> None:
    trace = await pipeline_trace()
    page = load(
        browser, tmp_path / "trace.html", graph_to_html(workflow_graph(Pipeline), trace=trace)
    )

    bars = page.evaluate(
        "[...document.querySelectorAll('#timeline .bar')]"
        ".map((b) => [Number(b.dataset.invocation), b.dataset.step, b.dataset.outcome])"
    )
    assert bars == [[i.id, i.step, i.outcome] for i in trace.invocations]
    assert [outcome for _, _, outcome in bars].count("failed") == 1
    assert len(texts(page, "#timeline .retry")) == 1
    assert set(texts(page, "#timeline .step-name")) == {"split", "fetch", "combine", "confirm"}
    assert sorted(texts(page, "#graph .node[data-kind=step] .label")) == [
        "combine",
        "confirm",
        "fetch",
        "split",
    ]
    assert "ran 4\u00d7, 1 failed" in texts(page, "#graph .node[data-id=fetch] .badge text")
    assert texts(page, "#run-summary .chip") == ["completed"]

    assert_png(page.screenshot(tmp_path / "trace.png"))

    failed = next(i for i in trace.invocations if i.outcome == "failed")
    click(page, f'#timeline .bar[data-invocation="{failed.id}"]')
    assert texts(page, "#details h3") == [f"fetch #{failed.id}"]
    assert texts(page, "#details .error") == ["ConnectionError: connection reset"]

    assert page.errors == []


def test_a_hostile_docstring_is_shown_not_run(browser: Browser, tmp_path: Path) -> None:
    page = load(browser, tmp_path / "hostile.html", graph_to_html(workflow_graph(Hostile)))
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert texts(page, "#description") == [HOSTILE]
    click(page, '#graph .node[data-id="start"]')
    assert texts(page, "#details .doc") == [HOSTILE]
    assert page.errors == []
