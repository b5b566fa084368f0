"""Workflows the parent/child tests serve: ``checkout`` runs ``charge`` as a child workflow and
returns what it charged."""

from __future__ import annotations

from live_server import fresh_workflows

from stepwork import Context, StartEvent, StopEvent, Workflow, step


class Charge(Workflow):
    """The child: charges ``amount``."""

    @step
    async def charge(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result={"charged": ev.amount})


class Checkout(Workflow):
    """The parent: its ``pay`` step runs a ``Charge`` child and returns its result."""

    @step
    async def pay(self, ctx: Context, ev: StartEvent) -> StopEvent:
        # Journaled as "charge", the name the server serves ``Charge`` under (and journals it as).
        child = Charge(timeout=30, workflow_name="charge")
        charged = await ctx.run_workflow(child, amount=ev.amount)
        return StopEvent(result=charged)


def lineage_workflows() -> dict[str, Workflow]:
    """The example server's workflows plus ``checkout`` and its child ``charge``."""
    return {**fresh_workflows(), "checkout": Checkout(timeout=30), "charge": Charge(timeout=30)}
