"""Graphs of workflows as data, and as Mermaid, Graphviz DOT and self-contained HTML drawings.

Example:
    >>> from stepwork import StartEvent, StopEvent, Workflow, step
    >>> from stepwork.drawing import graph_to_mermaid, workflow_graph
    >>> class W(Workflow):
    ...     @step
    ...     async def s(self, ev: StartEvent) -> StopEvent:
    ...         return StopEvent()
    >>> graph_to_mermaid(workflow_graph(W)).splitlines()[0]
    'flowchart TD'
"""

from stepwork._drawing.dot import graph_to_dot
from stepwork._drawing.html import graph_to_html
from stepwork._drawing.mermaid import graph_to_mermaid
from stepwork._drawing.model import GraphEdge, GraphNode, WorkflowGraph
from stepwork._drawing.trace import (
    RunTrace,
    TraceEnding,
    TraceEvent,
    TraceInvocation,
    build_trace,
)
from stepwork._drawing.trace_mermaid import trace_to_mermaid
from stepwork._runtime.graph_view import workflow_graph
from stepwork._runtime.trace_source import run_trace

__all__ = [
    "GraphEdge",
    "GraphNode",
    "RunTrace",
    "TraceEnding",
    "TraceEvent",
    "TraceInvocation",
    "WorkflowGraph",
    "build_trace",
    "graph_to_dot",
    "graph_to_html",
    "graph_to_mermaid",
    "run_trace",
    "trace_to_mermaid",
    "workflow_graph",
]

# Public names for the classes exported here (see ``stepwork._core.public_names``).
import sys as _sys

from stepwork._core.public_names import publish_imported as _publish_imported

_publish_imported(_sys.modules)
