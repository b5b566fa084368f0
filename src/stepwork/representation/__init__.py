"""Twin of ``workflows.representation``: a workflow's graph as pydantic models.

Example:
    >>> from stepwork.representation import get_workflow_representation
    >>> graph = get_workflow_representation(MyFlow)   # doctest: +SKIP
    >>> graph.filter_by_node_type("event").edges       # doctest: +SKIP
"""

from stepwork._drawing.representation import (
    WorkflowEventNode,
    WorkflowExternalNode,
    WorkflowGenericNode,
    WorkflowGraph,
    WorkflowGraphEdge,
    WorkflowGraphNode,
    WorkflowNodeBase,
    WorkflowResourceConfigNode,
    WorkflowResourceNode,
    WorkflowStepNode,
)
from stepwork._runtime.representation import get_workflow_representation

__all__ = [
    "WorkflowEventNode",
    "WorkflowExternalNode",
    "WorkflowGenericNode",
    "WorkflowGraph",
    "WorkflowGraphEdge",
    "WorkflowGraphNode",
    "WorkflowNodeBase",
    "WorkflowResourceConfigNode",
    "WorkflowResourceNode",
    "WorkflowStepNode",
    "get_workflow_representation",
]
