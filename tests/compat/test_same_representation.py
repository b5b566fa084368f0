"""The graph models of ``workflows.representation`` and the module twins, on both libraries.

A program ported by changing its imports gets the same graph: the same node ids and kinds,
the same edges (resource ids are hashes, so they are compared by what the node names), and
``filter_by_node_type`` reconnects the same way. The last tests check that every public module
path of the anchor that stepwork mirrors holds the names user code imports from it.
"""

# No ``from __future__ import annotations``: the scenarios define resources inside test
# functions, and resolving postponed local annotations is another test file's subject.
import importlib
import json
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel


class Store:
    """Stands for a database client."""


def open_store() -> Store:
    """Opens the store."""
    return Store()


class Settings(BaseModel):
    region: str


def _lib(root: str) -> Any:
    class Lib:
        pass

    lib = Lib()
    for path in ("", ".events", ".resource", ".representation"):
        module = importlib.import_module(root + path)
        for key in getattr(module, "__all__", None) or [k for k in dir(module) if k[0] != "_"]:
            setattr(lib, key, getattr(module, key))
    lib.Workflow = importlib.import_module(root).Workflow  # type: ignore[attr-defined]
    lib.step = importlib.import_module(root).step  # type: ignore[attr-defined]
    return lib


both = pytest.mark.parametrize(
    "lib",
    [pytest.param(_lib("workflows"), id="anchor"), pytest.param(_lib("stepwork"), id="stepwork")],
)


def _shape(graph: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str, str | None]]]:
    def name(node_id: str) -> str:
        node = next(n for n in graph.nodes if n.id == node_id)
        if node.node_type == "resource":
            return f"resource:{node.getter_name}:{node.type_name}"
        if node.node_type == "resource_config":
            return f"config:{Path(node.config_file).name}:{node.label}"
        return node_id

    nodes = sorted((name(n.id), n.node_type) for n in graph.nodes)
    edges = sorted((name(e.source), name(e.target), e.label) for e in graph.edges)
    return nodes, edges


@both
def test_graph_of_a_workflow_with_people_and_resources(
    lib: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.json").write_text(json.dumps({"cloud": {"region": "eu"}}))

    def open_cache(
        settings: Annotated[
            Settings, lib.ResourceConfig(config_file="app.json", path_selector="cloud")
        ],
    ) -> dict[str, str]:
        return {"region": settings.region}

    class Ask(lib.InputRequiredEvent):
        question: str = "?"

    class Answered(lib.Event):
        text: str

    class Desk(lib.Workflow):
        """Answers with a person's help."""

        @lib.step
        async def ask(
            self, ev: lib.StartEvent, store: Annotated[Store, lib.Resource(open_store)]
        ) -> Ask:
            """Asks the person."""
            return Ask()

        @lib.step
        async def take(
            self,
            ev: lib.HumanResponseEvent,
            store: Annotated[Store, lib.Resource(open_store)],
            cache: Annotated[dict, lib.Resource(open_cache)],
        ) -> Answered:
            return Answered(text=ev.response)

        @lib.step
        async def finish(self, ev: Answered) -> lib.StopEvent:
            return lib.StopEvent(result=ev.text)

    graph = lib.get_workflow_representation(workflow=Desk())
    nodes, edges = _shape(graph)
    cache = next(n for n, _ in nodes if n.endswith("open_cache:dict"))
    assert [node for node in nodes if node[0] != cache] == [
        ("Answered", "event"),
        ("Ask", "event"),
        ("HumanResponseEvent", "event"),
        ("StartEvent", "event"),
        ("StopEvent", "event"),
        ("ask", "step"),
        ("config:app.json:Settings", "resource_config"),
        ("external_step", "external"),
        ("finish", "step"),
        ("resource:open_store:Store", "resource"),
        ("take", "step"),
    ]
    assert ("Ask", "external_step", None) in edges
    assert ("external_step", "HumanResponseEvent", None) in edges
    assert ("ask", "resource:open_store:Store", "store") in edges
    assert ("take", "resource:open_store:Store", "store") in edges
    assert (cache, "config:app.json:Settings", "settings") in edges
    assert (graph.name, graph.description) == ("Desk", "Answers with a person's help.")
    config = next(n for n in graph.nodes if n.node_type == "resource_config")
    assert (config.path_selector, config.config_value) == ("cloud", {"region": "eu"})
    assert config.config_file == str(tmp_path / "app.json")
    ask_node = next(n for n in graph.nodes if n.id == "Ask")
    assert ask_node.event_types == ["Ask", "InputRequiredEvent"]
    assert ask_node.is_subclass_of("InputRequiredEvent")
    assert ask_node.produced_by == ["ask"]
    store = next(n for n in graph.nodes if n.node_type == "resource" and n.type_name == "Store")
    assert (store.description, store.source_file) == ("Opens the store.", __file__)


@both
def test_filtering_reconnects_through_removed_nodes(lib: Any) -> None:
    graph = lib.WorkflowGraph(
        name="G",
        nodes=[
            lib.WorkflowStepNode(id="a", label="a"),
            lib.WorkflowEventNode(id="E1", label="first", event_type="E1", event_types=["E1"]),
            lib.WorkflowEventNode(id="E2", label="second", event_type="E2", event_types=["E2"]),
            lib.WorkflowResourceNode(id="r", label="r"),
            lib.WorkflowStepNode(id="b", label="b"),
        ],
        edges=[
            lib.WorkflowGraphEdge(source="a", target="E1"),
            lib.WorkflowGraphEdge(source="E1", target="E2"),
            lib.WorkflowGraphEdge(source="E2", target="b"),
            lib.WorkflowGraphEdge(source="a", target="r", label="db"),
        ],
        description="d",
    )
    steps_only = graph.filter_by_node_type("event", "resource")
    assert [(e.source, e.target, e.label) for e in steps_only.edges] == [("a", "b", "first")]
    no_events = graph.filter_by_node_type("event")
    assert sorted((e.source, e.target, e.label) for e in no_events.edges) == [
        ("a", "b", "first"),
        ("a", "r", "db"),
    ]
    restored = lib.WorkflowGraph.model_validate(json.loads(graph.model_dump_json()))
    assert [type(n).__name__ for n in restored.nodes] == [type(n).__name__ for n in graph.nodes]
    assert lib.WorkflowStepNode(id="s", label="a_long_name").truncated_label(4) == "a_l*"


# Public module paths of the anchor and the names user code imports from them.
TWINS: dict[str, list[str]] = {
    "": ["Context", "Workflow", "step", "catch_error"],
    ".context": ["Context", "JsonSerializer", "PickleSerializer", "BaseSerializer"],
    ".context.context": ["Context"],
    ".context.serializers": ["BaseSerializer", "JsonSerializer", "PickleSerializer"],
    ".context.state_store": ["DictState", "InMemoryStateStore", "StateStore", "MODEL_T"],
    ".context.external_context": ["ExternalContext"],
    ".context.internal_context": ["InternalContext"],
    ".context.pre_context": ["PreContext"],
    ".testing": ["WorkflowTestRunner"],
    ".testing.runner": ["WorkflowTestRunner", "WorkflowTestResult"],
    ".representation": ["WorkflowGraph", "WorkflowStepNode", "get_workflow_representation"],
    ".representation.types": ["WorkflowGraph", "WorkflowGraphEdge", "WorkflowEventNode"],
    ".representation.build": ["get_workflow_representation"],
    ".types": ["RunResultT", "StopEventT"],
    ".events": ["Event", "StartEvent", "StopEvent", "InputRequiredEvent", "HumanResponseEvent"],
    ".decorators": ["step", "catch_error"],
    ".errors": ["WorkflowRuntimeError", "WorkflowTimeoutError", "ContextSerdeError"],
    ".handler": ["WorkflowHandler"],
    ".workflow": ["Workflow"],
    ".resource": ["Resource", "ResourceConfig"],
    ".retry_policy": ["retry_policy", "ConstantDelayRetryPolicy"],
    ".collect": ["Collect", "Take", "All"],
}


@pytest.mark.parametrize("root", ["workflows", "stepwork"])
@pytest.mark.parametrize("path", sorted(TWINS))
def test_every_mirrored_module_path_holds_the_names_users_import(root: str, path: str) -> None:
    module = importlib.import_module(root + path)
    missing = [name for name in TWINS[path] if not hasattr(module, name)]
    assert not missing, f"{root}{path} lacks {missing}"


def test_the_context_faces_are_the_one_context_class() -> None:
    from stepwork.context import Context
    from stepwork.context.external_context import ExternalContext
    from stepwork.context.internal_context import InternalContext
    from stepwork.context.pre_context import PreContext

    assert ExternalContext is InternalContext is PreContext is Context
