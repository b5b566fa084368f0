"""Time travel over journaled runs: history, replay against today's code, and forks.

All three fold a run's journal through the reducer; none calls a step. A fork copies a prefix
of a run's journal into a new run (optionally patching its state and adding events) and
resumes that new run, so it continues from that point with today's code.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stepwork._core.commands import (
    CommandCancelStep,
    CommandFinish,
    CommandPublish,
    CommandRunStep,
    CommandSchedule,
)
from stepwork._core.errors import ContextSerdeError, WorkflowRuntimeError
from stepwork._core.events import Event
from stepwork._core.notices import StepNotice
from stepwork._core.reducer import Reducer
from stepwork._core.state import RunState
from stepwork._core.ticks import TickEvent, TickStateWrite
from stepwork._runtime.handler import WorkflowHandler
from stepwork._runtime.snapshot import registry_for
from stepwork._runtime.state_store import InMemoryStateStore
from stepwork._stores.codec import dump_event
from stepwork._stores.protocol import JournalBatch, Store
from stepwork._stores.records import corrupt_record
from stepwork._stores.tick_codec import dump_tick, load_tick

if TYPE_CHECKING:
    from stepwork._runtime.workflow import Workflow

__all__ = [
    "HistoryEntry",
    "ReplayReport",
    "fork_run",
    "replay_run",
    "run_history",
    "summarise_record",
]

_INVOCATION_TICKS = {"step_done", "step_failed", "publish", "collect", "wait"}


@dataclass(frozen=True)
class HistoryEntry:
    """One tick of a run and what it changed.

    Attributes:
        seq: The tick's position in the journal (0 is the start).
        at: When it happened (seconds since the epoch).
        kind: The tick kind (``start``, ``event``, ``step_done``, ...).
        summary: What the tick was, in words.
        effects: What followed from it: steps started, events published, timers, the ending.
        status: The run's status after the tick.
    """

    seq: int
    at: float
    kind: str
    summary: str
    effects: list[str] = field(default_factory=list)
    status: str = "running"


@dataclass(frozen=True)
class ReplayReport:
    """The outcome of replaying a journal with today's code.

    Attributes:
        run_id: The run replayed.
        ticks: How many ticks were folded.
        status: The status the replay ended in.
        recorded_status: The status the store recorded for the run.
        problems: Where today's code disagrees with the journal (empty when it agrees).
        state: The rebuilt ``ctx.store`` state as JSON.
    """

    run_id: str
    ticks: int
    status: str
    recorded_status: str
    problems: list[str]
    state: Any = None

    @property
    def agrees(self) -> bool:
        """True when the replay rebuilt the recorded ending without any problem."""
        return not self.problems and self.status == self.recorded_status


async def _records(
    workflow: Workflow, run_id: str, limit: int | None = None
) -> tuple[Store, list[dict[str, Any]]]:
    store = workflow.store
    if store is None:
        raise WorkflowRuntimeError(
            f"Workflow '{workflow.workflow_name}' has no store: time travel reads journaled runs."
        )
    await store.open()
    return store, await store.load_ticks(run_id, limit=limit)


def _tick(record: dict[str, Any], registry: Any, steps: Any, run_id: str, seq: int) -> Any:
    try:
        return load_tick(record, registry, steps)
    except ContextSerdeError as error:
        raise corrupt_record(run_id, "tick", seq, f"it cannot be read: {error}") from error


async def run_history(workflow: Workflow, run_id: str) -> list[HistoryEntry]:
    """One entry per tick of run ``run_id``, with what each changed.

    Raises:
        RunNotFoundError: If the store has no such run.
        JournalCorruptError: If a record is missing or cannot be read (among them one naming
            a type outside the workflow's allow-list); names the run and the seq.
    """
    _, records = await _records(workflow, run_id)
    registry = registry_for(workflow)
    definition = workflow._definition()
    reducer: Reducer = definition.reducer
    state = reducer.new_state(run_id)
    entries = []
    for seq, record in enumerate(records):
        tick = _tick(record, registry, definition.specs, run_id, seq)
        commands = reducer.reduce(state, tick)
        entries.append(
            HistoryEntry(
                seq, tick.at, tick.kind, _summary(record), _effects(commands), state.status
            )
        )
    return entries


async def replay_run(workflow: Workflow, run_id: str) -> ReplayReport:
    """Rebuild run ``run_id`` from its journal with today's code, without calling any step.

    Raises:
        RunNotFoundError: If the store has no such run.
    """
    store, records = await _records(workflow, run_id)
    recorded = await store.get_run(run_id)
    registry = registry_for(workflow)
    definition = workflow._definition()
    reducer: Reducer = definition.reducer
    state = reducer.new_state(run_id)
    problems: list[str] = []
    for seq, record in enumerate(records):
        try:
            tick = load_tick(record, registry, definition.specs)
        except ContextSerdeError as error:
            problems.append(f"tick {seq} ({record.get('kind')}): cannot be read: {error}")
            continue
        number = record.get("invocation")
        if record["kind"] in _INVOCATION_TICKS:
            invocation = state.invocations.get(number) if isinstance(number, int) else None
            if invocation is None:
                problems.append(
                    f"tick {seq} ({record['kind']}) belongs to invocation {number}, which "
                    "today's code never started: a step was removed, renamed, or now accepts "
                    "other events"
                )
                continue
            recorded_step = record.get("step")
            if recorded_step and recorded_step != invocation.delivery.step:
                problems.append(
                    f"tick {seq} ({record['kind']}): the journal ran step '{recorded_step}' as "
                    f"invocation {number}; today's code runs step '{invocation.delivery.step}' "
                    "there (a step was renamed or the routing changed)"
                )
        reducer.reduce(state, tick)
    if state.status != recorded.status:
        problems.append(
            f"the journal records the run as {recorded.status}; today's code ends it as "
            f"{state.status}"
        )
    return ReplayReport(run_id, len(records), state.status, recorded.status, problems, state.state)


def fork_run(
    workflow: Workflow,
    run_id: str,
    *,
    at: int,
    state_patch: Mapping[str, Any] | None = None,
    events: Sequence[Event] | None = None,
    new_run_id: str | None = None,
) -> WorkflowHandler:
    """Start a new run from run ``run_id`` as it was after its first ``at`` ticks.

    Raises:
        WorkflowRuntimeError: If the workflow has no store. Awaiting the handler raises
            ``RunNotFoundError`` for an unknown run and ``ValueError`` for an ``at`` outside
            the journal.
    """
    from stepwork._runtime.durable import resume_run

    if workflow.store is None:
        raise WorkflowRuntimeError(
            f"Workflow '{workflow.workflow_name}' has no store: forks copy journaled runs."
        )
    target = new_run_id or f"{run_id}-fork-{secrets.token_hex(3)}"

    async def copy() -> None:
        await _copy(workflow, run_id, target, at, state_patch, events)

    return resume_run(workflow, target, before=copy)


async def _copy(
    workflow: Workflow,
    run_id: str,
    target: str,
    at: int,
    state_patch: Mapping[str, Any] | None,
    events: Sequence[Event] | None,
) -> None:
    # Only the ticks copied are read, so a run damaged later on can be forked from before it.
    store, records = await _records(workflow, run_id, limit=max(at, 1))
    if not 1 <= at <= len(records):
        total = (await store.get_run(run_id)).ticks
        raise ValueError(f"at must be between 1 and {total} (the run's ticks), got {at}.")
    registry = registry_for(workflow)
    definition = workflow._definition()
    reducer: Reducer = definition.reducer
    state: RunState = reducer.new_state(target)
    copied: list[dict[str, Any]] = []
    published: list[dict[str, Any]] = []
    for seq, record in enumerate(records[:at]):
        record = {**record, "run_id": target} if record["kind"] == "start" else record
        tick = _tick(record, registry, definition.specs, run_id, seq)
        for command in reducer.reduce(state, tick):
            if isinstance(command, CommandPublish):
                event = command.event
                event = event.to_event() if type(event) is StepNotice else event
                published.append(dump_event(event))
        copied.append(record)
    last_at = state.last_at or 0.0
    if state_patch:
        store_state = InMemoryStateStore.from_json(state.state, registry) if state.state else None
        patched = store_state or InMemoryStateStore(_default_state(workflow))
        patched.journaled = True
        for key, value in state_patch.items():
            await patched.set(key, value)
        copied.append(dump_tick(TickStateWrite(last_at, patched.to_json())))
    for event in events or ():
        copied.append(dump_tick(TickEvent(last_at, event)))
    # The fork's row and its copied journal in one transaction: a failed copy leaves no run.
    batch = JournalBatch(
        target, 0, copied, 0, published, workflow=workflow.workflow_name, created_at=last_at
    )
    await store.append(batch)


def _default_state(workflow: Workflow) -> Any:
    from stepwork._runtime.state_store import infer_state_type

    return infer_state_type(workflow._definition().state_types)()


def _name(value: Any) -> str:
    if isinstance(value, list):
        return _names(value)
    if not isinstance(value, dict):
        return "None"
    return str(value.get("__model__", "?")).rsplit(".", 1)[-1]


def _names(records: list[Any]) -> str:
    """A fan-out's output: ``3 events (2 Item, Done)``, or ``an empty list``."""
    if not records:
        return "an empty list"
    counts: dict[str, int] = {}
    for record in records:
        label = _name(record)
        counts[label] = counts.get(label, 0) + 1
    parts = ", ".join(label if n == 1 else f"{n} {label}" for label, n in counts.items())
    noun = "event" if len(records) == 1 else "events"
    return f"{len(records)} {noun} ({parts})"


def summarise_record(record: Mapping[str, Any]) -> str:
    """One line saying what a stored tick record did (``"invocation 3 returned Joke"``)."""
    return _summary(record)


def _summary(record: Mapping[str, Any]) -> str:
    kind = record["kind"]
    name = _name
    if kind == "start":
        base = " from a restored or carried-over context" if record.get("base") else ""
        if record.get("start_event") is None:
            return f"run resumed{base}"
        return f"run started with {name(record['start_event'])}{base}"
    if kind == "event":
        target = f" to step {record['step']}" if record.get("step") else ""
        return f"{name(record['event'])} sent{target}"
    if kind == "step_done":
        return f"invocation {record['invocation']} returned {name(record.get('output'))}"
    if kind == "step_failed":
        delay = record.get("retry_delay")
        retry = f", retry in {delay} s" if delay is not None else ""
        return f"invocation {record['invocation']} failed{retry}"
    if kind == "publish":
        return f"invocation {record['invocation']} wrote {name(record['event'])} to the stream"
    if kind == "collect":
        return f"invocation {record['invocation']} collected {name(record['event'])}"
    if kind == "wait":
        waited = record["event_type"].rsplit(".", 1)[-1]
        return f"invocation {record['invocation']} waits for {waited}"
    if kind == "state":
        return "state written"
    if kind == "timer":
        return f"timer {record['timer_id']} fired"
    return "cancelled by the caller"


def _effects(commands: list[Any]) -> list[str]:
    effects = []
    for command in commands:
        if isinstance(command, CommandRunStep):
            invocation = command.invocation
            effects.append(f"started step {invocation.delivery.step} (invocation {invocation.id})")
        elif isinstance(command, CommandPublish) and type(command.event) is not StepNotice:
            effects.append(f"published {type(command.event).__name__}")
        elif isinstance(command, CommandSchedule):
            effects.append(f"scheduled timer {command.timer_id}")
        elif isinstance(command, CommandCancelStep):
            effects.append(f"cancelled invocation {command.invocation}")
        elif isinstance(command, CommandFinish):
            effects.append(f"run ended with {type(command.stop_event).__name__}")
    return effects
