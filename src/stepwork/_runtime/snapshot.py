"""Context snapshots: a run's state as plain JSON, and back.

The snapshot holds the ``ctx.store`` state (under ``"state"``, in LlamaIndex Workflows' form,
see ``state_snapshot``) and, for a run in progress, its queues, buffers, waiters, fan-out
streams and timers. Invocations caught mid-flight are restored as queued work (they run again
from the top). Event classes are looked up through an allow-list: the workflow's own event
types plus the framework's, and ``Event`` subclasses already imported; nothing is imported by
name and nothing is unpickled, unless the caller passes ``serializer=PickleSerializer()`` for
the state's values.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from stepwork._core.errors import ContextSerdeError
from stepwork._core.events import Event
from stepwork._core.reducer import Reducer, fold
from stepwork._core.state import RunState
from stepwork._core.ticks import Tick, TickCancel
from stepwork._runtime.state_snapshot import state_from_dict
from stepwork._runtime.state_store import InMemoryStateStore, infer_state_type
from stepwork._stores.codec import TypeRegistry
from stepwork._stores.state_codec import dump_run_state, load_run_state

if TYPE_CHECKING:
    from stepwork._runtime.definition import WorkflowDefinition

__all__ = [
    "FORMAT",
    "SnapshotWorkflow",
    "dump_run_state",
    "dump_snapshot",
    "load_run_state",
    "load_snapshot",
    "registry_for",
    "state_before_cancel",
]

FORMAT = "stepwork.context/1"


class SnapshotWorkflow(Protocol):
    """What snapshots need of a workflow (``Workflow`` is one): its name and definition."""

    @property
    def workflow_name(self) -> str:
        """The name a snapshot records."""
        ...

    def definition(self, skips: frozenset[str] = ...) -> WorkflowDefinition:
        """The workflow class's steps, spec and the types its snapshots may name."""
        ...


def registry_for(workflow: SnapshotWorkflow) -> TypeRegistry:
    """The allow-list of types a snapshot of ``workflow`` may name.

    That is the framework's events, every event and state type in the workflow's step
    signatures, and the ``Event`` subclasses defined at the top level of the workflow class's
    own module (events used only with ``wait_for_event`` or ``send_event`` live there).
    """
    definition = workflow.definition()
    extra: list[type] = list(definition.events)
    extra.extend(definition.state_types)
    module = sys.modules.get(type(workflow).__module__)
    if module is not None:
        extra.extend(
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Event)
            and value.__module__ == module.__name__
        )
    return TypeRegistry.default().with_types(*extra)


def state_before_cancel(
    reducer: Reducer,
    run_id: str,
    ticks: Sequence[Tick],
    base: Callable[[], RunState] | None = None,
) -> RunState | None:
    """The run's state just before the caller cancelled it, rebuilt from its ticks.

    A snapshot of a cancelled run holds this state, so restoring it resumes the run where it
    was (as LlamaIndex Workflows does: cancelling leaves a context resumable). ``None`` if the
    ticks hold no cancellation. ``base`` builds the state ``ticks`` start from, when they
    do not start at the run's first tick (a run resumed from a checkpoint).
    """
    for index in range(len(ticks) - 1, -1, -1):
        if isinstance(ticks[index], TickCancel):
            start = reducer.new_state(run_id) if base is None else base()
            return fold(reducer, ticks[:index], start)
    return None


def dump_snapshot(
    workflow: SnapshotWorkflow,
    state: RunState | None,
    store: InMemoryStateStore[Any] | None,
    serializer: Any = None,
) -> dict[str, Any]:
    """A JSON-ready snapshot of a context (``state`` is ``None`` before any run).

    Raises:
        StateSerializationError: If a state value cannot be serialised with ``serializer``.
    """
    return {
        "format": FORMAT,
        "workflow": workflow.workflow_name,
        "is_running": state is not None and not state.done,
        "state": store.to_dict(serializer) if store is not None else None,
        "run": dump_run_state(state, snapshot=True)
        if state is not None and not state.done
        else None,
    }


def load_snapshot(
    workflow: SnapshotWorkflow, data: Any, serializer: Any = None
) -> tuple[RunState | None, InMemoryStateStore[Any]]:
    """Rebuild ``(run_state, store)`` from :func:`dump_snapshot` output.

    Raises:
        ContextSerdeError: If ``data`` is not a snapshot, or names types outside the allow-list.
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ContextSerdeError(
            "Context dict specified in an invalid format: expected the output of "
            f"Context.to_dict() (format {FORMAT!r}), got "
            f"{type(data).__name__ if not isinstance(data, dict) else sorted(data)!r}."
        )
    registry = registry_for(workflow)
    try:
        store_data = data.get("state")
        definition = workflow.definition()
        if store_data is not None:
            store: InMemoryStateStore[Any] = InMemoryStateStore(
                state_from_dict(store_data, serializer, registry)
            )
        else:
            store = InMemoryStateStore(infer_state_type(definition.state_types)())
        run = data.get("run")
        state = load_run_state(run, registry, definition.specs) if run is not None else None
    except ContextSerdeError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise ContextSerdeError(
            f"Context dict specified in an invalid format: {error!r}. Pass the output of "
            "Context.to_dict() from the same workflow."
        ) from error
    return state, store
