"""Sample workflows for the drawing tests (and anyone else who wants a rich graph to draw).

``Showcase`` has everything a drawing must show: a fan-out (``-> list[Page]``) gathered by a
``list[Fetched]`` collector, a question for a person (``InputRequiredEvent`` answered by a
``HumanResponseEvent``), a ``Resource`` and a child workflow run inside a step.
``weird_workflow(name)`` builds a workflow whose event class has any name at all.

The file imports only stepwork, so it can also be loaded by path (``stepwork draw
tests/drawing/samples.py:Showcase``).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Annotated, Any

from stepwork import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    Resource,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from stepwork._drawing.model import GraphEdge, GraphNode, WorkflowGraph

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = [
    "Answer",
    "Child",
    "Fetched",
    "FanOut",
    "Human",
    "LONG_NAME",
    "Middle",
    "Outer",
    "Page",
    "Question",
    "Showcase",
    "Summary",
    "WithResource",
    "any_graph",
    "any_name",
    "get_client",
    "weird_event",
    "weird_workflow",
]

LONG_NAME = "Extraordinarily" + "Long" * 30 + "EventName"


class Page(Event):
    """One page to fetch."""

    url: str


class Fetched(Event):
    """A fetched page."""

    url: str
    size: int


class Question(InputRequiredEvent):
    """Published for a person to answer."""

    prompt: str


class Answer(HumanResponseEvent):
    """What the person said."""

    text: str


class Summary(Event):
    """Pages and the answer, ready for the child workflow."""

    total: int


def get_client() -> dict[str, str]:
    """A pretend HTTP client."""
    return {"endpoint": "https://example.invalid"}


Client = Annotated[dict[str, str], Resource(get_client)]


class Child(Workflow):
    """Formats a summary; run by ``Showcase.report``."""

    @step
    async def format(self, ev: StartEvent) -> StopEvent:
        """Turn the total into text."""
        return StopEvent(result=f"total={ev.total}")


class FanOut(Workflow):
    """Fan out to pages and gather them again."""

    @step
    async def split(self, ev: StartEvent) -> list[Page]:
        """One Page per url."""
        return [Page(url=url) for url in ev.urls]

    @step(num_workers=4)
    async def fetch(self, ev: Page) -> Fetched:
        return Fetched(url=ev.url, size=len(ev.url))

    @step
    async def combine(self, pages: list[Fetched]) -> StopEvent:
        return StopEvent(result=sum(page.size for page in pages))


class Human(Workflow):
    """Ask a person, then greet them."""

    @step
    async def ask(self, ev: StartEvent) -> Question:
        return Question(prompt="What is your name?")

    @step
    async def greet(self, ev: Answer) -> StopEvent:
        return StopEvent(result=f"Hello, {ev.text}!")


class WithResource(Workflow):
    """A step with a resource."""

    @step
    async def call(self, ev: StartEvent, client: Client) -> StopEvent:
        return StopEvent(result=client["endpoint"])


class Middle(Workflow):
    """Runs ``Child`` in turn, so ``Outer`` draws a frame inside a frame."""

    @step
    async def delegate(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=await Child(timeout=10).run(total=1))


class Outer(Workflow):
    """Runs ``Middle``, which runs ``Child``."""

    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=await Middle(timeout=10).run())


class Showcase(Workflow):
    """Fan-out, a person, a resource and a child workflow in one graph."""

    @step
    async def split(self, ev: StartEvent) -> list[Page]:
        """One Page per url."""
        return [Page(url=url) for url in ev.urls]

    @step(num_workers=4)
    async def fetch(self, ev: Page, client: Client) -> Fetched:
        """Fetch one page with the shared client."""
        return Fetched(url=ev.url, size=len(ev.url) + len(client))

    @step
    async def combine(self, pages: list[Fetched]) -> Question:
        """Gather every page, then ask the person to confirm."""
        return Question(prompt=f"Publish {len(pages)} pages?")

    @step
    async def confirm(self, ev: Answer) -> Summary:
        return Summary(total=len(ev.text))

    @step
    async def report(self, ev: Summary) -> StopEvent:
        """Run the child workflow on the summary."""
        result = await Child(timeout=10).run(total=ev.total)
        return StopEvent(result=result)


def weird_event(name: str) -> type[Event]:
    """An ``Event`` subclass called ``name`` (any text at all), with a docstring to match."""
    return type(name, (Event,), {"__doc__": f"Docstring of {name}", "__module__": __name__})


def weird_workflow(name: str, *, step_name: str = "handle") -> type[Workflow]:
    """A workflow ``StartEvent -> [step] -> <name> -> [finish] -> StopEvent``.

    ``step_name`` becomes the first step's ``__name__`` (a step name need not be an identifier
    as far as drawings are concerned).
    """
    weird = weird_event(name)

    async def handle(self, ev: StartEvent) -> Any:
        return weird()

    async def finish(self, ev: Any) -> StopEvent:
        return StopEvent(result=name)

    handle.__annotations__ = {"ev": StartEvent, "return": weird}
    finish.__annotations__ = {"ev": weird, "return": StopEvent}
    handle.__name__ = step_name
    # A dotted qualname is how ``@step`` tells a method from a free function.
    handle.__qualname__ = f"WeirdWorkflow.{step_name}"
    finish.__qualname__ = "WeirdWorkflow.finish"
    body = {step_name: step(handle), "finish": step(finish), "__doc__": f"Workflow of {name}"}
    digest = hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return type(f"Weird_{digest}", (Workflow,), body)


# -- random names and graphs for property tests (hypothesis is imported only when asked for) ----


def any_name() -> SearchStrategy[str]:
    """Any text a class name can be: quotes, brackets, control characters, emoji, up to 80."""
    from hypothesis import strategies as st

    alphabet = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
    return st.text(alphabet, max_size=80)


def any_graph() -> SearchStrategy[WorkflowGraph]:
    """Arbitrary graphs of every node kind and role, some steps running child workflows."""
    from hypothesis import strategies as st

    names = any_name()
    kinds = st.sampled_from(["step", "event", "external", "resource", "workflow"])
    roles = st.sampled_from(["start", "stop", "input_required", "human_response", "event", "?"])

    @st.composite
    def graphs(draw: st.DrawFn) -> WorkflowGraph:
        ids = draw(st.lists(names, min_size=1, max_size=8, unique=True))
        nodes = {
            i: GraphNode(i, draw(kinds), draw(names), draw(names), {"role": draw(roles)})
            for i in ids
        }
        for parent in ids[:2]:  # a step running a child: "<step>/..." ids, a "runs" edge
            nodes[parent] = GraphNode(parent, "step", parent)
            nodes.setdefault(f"{parent}/inner", GraphNode(f"{parent}/inner", "step", "inner"))
            nodes.setdefault(f"{parent}/Child", GraphNode(f"{parent}/Child", "workflow", "Child"))
        every = sorted(nodes)
        ends = st.sampled_from(every)
        labels = names | st.sampled_from(["runs", "starts", "returns"])
        edges = draw(st.lists(st.builds(GraphEdge, ends, ends, labels), max_size=12))
        edges += [GraphEdge(p, f"{p}/Child", "runs") for p in ids[:2] if f"{p}/Child" in nodes]
        return WorkflowGraph(draw(names), list(nodes.values()), edges)

    return graphs()
