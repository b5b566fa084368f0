"""Only the parents of ``children_flow`` (a worker that executes no child)."""

from children_flow import Parent

workflows = {"parent": Parent(timeout=None, workflow_name="parent")}
