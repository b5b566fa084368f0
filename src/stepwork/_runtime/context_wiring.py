"""``ContextWiring``: what ties a ``Context`` to its run, kept apart from the services steps use.

A ``Context`` outlives runs: it is made before a run (or restored from a snapshot), attached
to the run's driver when the run starts, and may carry its state into the next run. The
launcher (``launch.py``), resuming (``durable.py``) and the handler drive that life cycle
through this object's named methods; steps and callers never see it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepwork._core.errors import ContextStateError, WorkflowRuntimeError
from stepwork._core.events import Event
from stepwork._core.ticks import TickEvent, TickStateWrite
from stepwork._runtime.driver import RunDriver, running_step
from stepwork._runtime.state_store import InMemoryStateStore

if TYPE_CHECKING:
    from stepwork._core.state import Invocation, RunState
    from stepwork._stores.type_registry import TypeRegistry

__all__ = ["ContextWiring"]


class ContextWiring:
    """The run a context is attached to, a restored run not yet resumed, and the state store.

    Args:
        store: The context's state store (fresh, or restored from a snapshot).
        restored: A snapshot's run state, resumed by the next run; ``None`` otherwise.
        carry: True when ``store`` holds state from elsewhere (a snapshot, an earlier run):
            the next run records it as its base.
        strict: Refuse, at the write, a state value a journal could not hold.
    """

    def __init__(
        self,
        store: InMemoryStateStore[Any],
        restored: RunState | None,
        *,
        carry: bool,
        strict: bool,
    ) -> None:
        self.driver: RunDriver | None = None
        self.restored = restored
        self.carry = carry
        self.store = store
        self.store.strict = strict
        # Every committed write becomes a tick, so the run's log carries its state too.
        self.store.on_commit = self.state_committed

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the attached run has not ended (a new run would clash with it)."""
        return self.driver is not None and not self.driver.view.done

    @property
    def resumes_restored(self) -> bool:
        """True when the next run continues a snapshot's unfinished run (no start event)."""
        return self.restored is not None and not self.restored.done

    def attach(self, driver: RunDriver) -> None:
        """Attach the run ``driver`` executes; its state writes go to it from now on."""
        self.driver = driver
        self.store.journaled = driver.journal is not None
        self.restored = None
        self.carry = True

    def take_restored(self) -> RunState | None:
        """The snapshot's run state to resume from (once: the context forgets it)."""
        restored, self.restored = self.restored, None
        return restored

    def unstarted(self, restored: RunState | None, carried: bool) -> None:
        """Undo :meth:`attach` for a run that never started: the context stays reusable."""
        self.driver, self.restored, self.carry = None, restored, carried

    def restore_store(self, data: dict[str, Any], registry: TypeRegistry) -> None:
        """Replace the state store with one read from a journal's ``ctx.store`` JSON.

        Raises:
            ContextSerdeError: If ``data`` cannot be read with ``registry``.
        """
        strict = self.store.strict
        self.store = InMemoryStateStore.from_json(data, registry)
        self.store.strict = strict
        self.store.on_commit = self.state_committed
        self.carry = True

    def state_committed(self, payload: dict[str, Any]) -> None:
        """Journal a committed ``ctx.store`` write as a tick of the attached run."""
        driver = self.driver
        if driver is not None:
            driver.call_soon(TickStateWrite, payload)

    # -- sending ------------------------------------------------------------------------------

    def send(self, message: Event, step: str | None, idempotency_key: str | None) -> None:
        """Send ``message`` into the run, journaling the caller's ``idempotency_key``.

        Raises:
            ContextStateError: If the context has not been run yet.
            WorkflowRuntimeError: If ``step`` does not exist or does not accept the event, or
                the run has already finished (called from outside a step).
        """
        driver = self.driver
        if driver is None:
            raise ContextStateError(
                "send_event requires a running workflow. Call workflow.run() first."
            )
        if not isinstance(message, Event):
            raise WorkflowRuntimeError(
                f"send_event takes an Event, got {type(message).__name__}.", run_id=driver.run_id
            )
        if step is not None:
            check_target(driver, message, step)
        inside = step_of(driver)
        if driver.view.done:
            if inside is not None:
                return  # the run ended while this step was finishing; it is being cancelled
            raise WorkflowRuntimeError(
                f"Run '{driver.run_id}' has already finished; {type(message).__name__} was not "
                "delivered. Start a new run to continue.",
                run_id=driver.run_id,
            )
        source = inside.id if inside is not None else None
        driver.call_soon(TickEvent, message, step, source, idempotency_key)

    def inside(self, what: str) -> tuple[RunDriver, Invocation]:
        """The driver and invocation of the step of this context's run running now.

        Raises:
            ContextStateError: If called outside a step of this context's run (names ``what``).
        """
        driver = self.driver
        invocation = step_of(driver) if driver is not None else None
        if driver is None or invocation is None:
            raise ContextStateError(
                f"{what} is only available from within step functions of this context's run."
            )
        return driver, invocation


def step_of(driver: RunDriver) -> Invocation | None:
    """The invocation of ``driver``'s run whose step is running in this task, if any."""
    current = running_step()
    if current is None or current[0] is not driver:
        return None
    return current[1]


def check_target(driver: RunDriver, message: Event, step: str) -> None:
    """Refuse sending ``message`` to ``step`` unless that step exists and accepts it.

    Raises:
        WorkflowRuntimeError: Naming the step and the event types it accepts.
    """
    specs = driver.definition.specs
    target = specs.get(step)
    if target is None:
        raise WorkflowRuntimeError(
            f"Step {step} does not exist. Steps of this workflow: {', '.join(specs)}.",
            run_id=driver.run_id,
        )
    event_type = type(message)
    if target.collect is not None or not (
        event_type in target.input_types
        or (target.accept_subclasses and issubclass(event_type, target.input_types))
    ):
        raise WorkflowRuntimeError(
            f"Step {step} does not accept event of type {event_type}. It accepts "
            f"{', '.join(t.__name__ for t in target.input_types)}.",
            run_id=driver.run_id,
            step_name=step,
        )
