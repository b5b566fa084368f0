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

# Public names for the classes exported here (see ``stepwork._core.public_names``).
import sys as _sys

import stepwork.representation.build as _build_module  # noqa: F401 (published below)
import stepwork.representation.types as _types_module  # noqa: F401 (published below)
from stepwork._core.public_names import publish_imported as _publish_imported

_publish_imported(_sys.modules)
