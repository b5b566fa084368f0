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
from stepwork._drawing.mermaid import graph_to_mermaid
from stepwork._drawing.model import GraphEdge, GraphNode, WorkflowGraph
from stepwork._runtime.graph_view import workflow_graph

__all__ = [
    "GraphEdge",
    "GraphNode",
    "WorkflowGraph",
    "graph_to_dot",
    "graph_to_mermaid",
    "workflow_graph",
]
