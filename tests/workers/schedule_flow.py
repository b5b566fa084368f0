"""A one-step workflow that schedule tests start on a schedule: ``n`` -> ``n``."""

from __future__ import annotations

from stepwork import StartEvent, StopEvent, Workflow, step


class Beat(Workflow):
    """Answers the start event's ``n``."""

    @step
    async def beat(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=ev.n)


workflows = {"beat": Beat(timeout=None, workflow_name="beat")}
