"""Graphs of workflows, as data (and, with the renderers, as drawings).

Example:
    >>> from stepwork.drawing import workflow_graph
"""

from stepwork._drawing.model import GraphEdge, GraphNode, WorkflowGraph
from stepwork._runtime.graph_view import workflow_graph

__all__ = ["GraphEdge", "GraphNode", "WorkflowGraph", "workflow_graph"]
