"""Step state notices: internal stream events, built only when a reader asks for them.

Every invocation publishes two step-state changes; most readers never look at internal events,
so the reducer publishes this small record and the stream turns it into a
``StepStateChanged`` event only for a reader that exposes internal events.
"""

from __future__ import annotations

from dataclasses import dataclass

from stepwork._core.events import StepState, StepStateChanged

__all__ = ["StepNotice"]


@dataclass(slots=True)
class StepNotice:
    """A step worker changed state (see ``StepStateChanged`` for the fields)."""

    name: str
    step_state: StepState
    worker_id: str
    input_event_name: str
    output_event_name: str | None = None

    def to_event(self) -> StepStateChanged:
        """The public event this notice stands for."""
        return StepStateChanged(
            name=self.name,
            step_state=self.step_state,
            worker_id=self.worker_id,
            input_event_name=self.input_event_name,
            output_event_name=self.output_event_name,
        )
