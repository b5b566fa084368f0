"""Twin of ``workflows.runtime.types.internal_state``: a run's queued work per step.

Example:
    >>> from stepwork.runtime.types.internal_state import BrokerState, EventAttempt
    >>> state = BrokerState.from_workflow(MyFlow())                          # doctest: +SKIP
    >>> state.workers["a"].queue.append(EventAttempt(event=StartEvent()))    # doctest: +SKIP
"""

from stepwork._runtime.broker_state import BrokerState, EventAttempt, StepWorkerState

__all__ = ["BrokerState", "EventAttempt", "StepWorkerState"]
