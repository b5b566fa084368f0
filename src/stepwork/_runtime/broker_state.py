"""A run's queued work in LlamaIndex Workflows' shape (``BrokerState``, ``EventAttempt``).

LlamaIndex Workflows exposes its runtime's state as ``BrokerState``: per step, a queue of
``EventAttempt`` records (the event plus its retry and recovery bookkeeping). stepwork's
reducer keeps the same facts in ``RunState.steps[name].queue`` as ``Delivery`` records. These
classes are a view of a ``RunState`` in the anchor's terms, serialised with stepwork's own
run-state codec (the JSON a journal and ``Context.to_dict()`` use), so test suites that build
or inspect queued attempts run on stepwork's real state.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from stepwork._core.state import Delivery, RunState
from stepwork._runtime.snapshot import registry_for
from stepwork._stores.state_codec import dump_run_state, load_run_state

__all__ = ["BrokerState", "EventAttempt", "StepWorkerState"]


@dataclass
class EventAttempt:
    """One queued event for a step, with its retry and ``@catch_error`` bookkeeping.

    Attributes:
        event: The event (a ``{param: event}`` dict for a join, a list for a fan-in).
        attempts: Failed attempts so far.
        first_attempt_at: When it was first tried (the run clock's seconds), or ``None``.
        last_exception: The last failure, or ``None``.
        last_failed_at: When it last failed, or ``None``.
        recovery_counts: ``@catch_error`` handler name -> recoveries along this lineage.
    """

    event: Any
    attempts: int = 0
    first_attempt_at: float | None = None
    last_exception: BaseException | None = None
    last_failed_at: float | None = None
    recovery_counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_delivery(cls, delivery: Delivery) -> EventAttempt:
        """The attempt a reducer ``Delivery`` records."""
        return cls(
            event=delivery.payload,
            attempts=delivery.attempts,
            first_attempt_at=delivery.first_attempt_at,
            last_exception=delivery.last_error,
            last_failed_at=delivery.last_failed_at,
            recovery_counts=dict(delivery.recoveries),
        )

    def to_delivery(self, step: str, key: int) -> Delivery:
        """The reducer ``Delivery`` for this attempt at ``step``, numbered ``key``."""
        return Delivery(
            step=step,
            payload=self.event,
            attempts=self.attempts,
            first_attempt_at=self.first_attempt_at,
            last_error=self.last_exception,
            last_failed_at=self.last_failed_at,
            recoveries=tuple(self.recovery_counts.items()),
            key=key,
        )


@dataclass
class StepWorkerState:
    """One step's queue of attempts waiting for a worker."""

    queue: list[EventAttempt] = field(default_factory=list)


class BrokerState:
    """A run's queued work per step, over a stepwork ``RunState``.

    Attributes:
        workers: Step name -> its queue; edit the lists freely, :meth:`to_run_state` reads them.
    """

    def __init__(self, run_state: RunState) -> None:
        self._run_state = run_state
        self.workers: dict[str, StepWorkerState] = {
            name: StepWorkerState([EventAttempt.from_delivery(d) for d in runtime.queue])
            for name, runtime in run_state.steps.items()
        }

    @classmethod
    def from_workflow(cls, workflow: Any) -> BrokerState:
        """The state of a run of ``workflow`` that has not started: every queue empty."""
        return cls(workflow.definition().reducer.new_state(""))

    def to_run_state(self) -> RunState:
        """The ``RunState`` with the queues as :attr:`workers` holds them now."""
        state = self._run_state
        for name, worker in self.workers.items():
            runtime = state.steps[name]
            keys = [d.key for d in runtime.queue]
            deliveries = []
            for index, attempt in enumerate(worker.queue):
                key = keys[index] if index < len(keys) else state.next_delivery
                if key == state.next_delivery:
                    state.next_delivery += 1
                deliveries.append(attempt.to_delivery(name, key))
            runtime.queue = deque(deliveries)
        return state

    def to_serialized(self, serializer: Any = None) -> dict[str, Any]:
        """The state as JSON, written by stepwork's run-state codec.

        Args:
            serializer: Accepted for LlamaIndex Workflows' signature; events and errors are
                written by stepwork's codec whatever it is.

        Raises:
            StateSerializationError: If an event in a queue cannot be serialised.
        """
        return dump_run_state(self.to_run_state(), snapshot=True)

    @classmethod
    def from_serialized(
        cls, data: dict[str, Any], workflow: Any, serializer: Any = None
    ) -> BrokerState:
        """Rebuild the state :meth:`to_serialized` wrote, for a run of ``workflow``.

        Raises:
            ContextSerdeError: If the data names a step ``workflow`` lacks, or a type outside
                its allow-list.
        """
        specs = workflow.definition().specs
        return cls(load_run_state(data, registry_for(workflow), specs))
