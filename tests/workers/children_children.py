"""Only the children of ``children_flow`` (a worker that executes no parent)."""

from children_flow import Child

workflows = {"child": Child(timeout=None, workflow_name="child")}
