"""Time travel over journaled runs: history, replay against today's code, and forks.

All three fold a run's journal through the reducer; none calls a step. A fork copies a prefix
of a run's journal into a new run (optionally patching its state and adding events) and
resumes that new run, so it continues from that point with today's code.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, assert_never

from stepwork._core.commands import (
    Command,
    CommandCancelStep,
    CommandCancelTimer,
    CommandCollected,
    CommandFinish,
    CommandPublish,
    CommandResolveWaiter,
    CommandRunStep,
    CommandSchedule,
)
from stepwork._core.envelope import TickEnvelope
from stepwork._core.errors import ContextSerdeError, JournalCorruptError, WorkflowRuntimeError
from stepwork._core.events import Event
from stepwork._core.notices import StepNotice
from stepwork._core.reducer import Reducer
from stepwork._core.state import RunState
from stepwork._core.ticks import (
    Tick,
    TickEvent,
    TickKind,
    TickStateWrite,
    tick_invocation,
)
from stepwork._runtime.call_outcomes import call_summary, parent_of
from stepwork._runtime.durable import DurableWorkflow, resume_run
from stepwork._runtime.envelopes import Stamper
from stepwork._runtime.handler import WorkflowHandler
from stepwork._runtime.snapshot import registry_for
from stepwork._runtime.state_store import InMemoryStateStore, infer_state_type
from stepwork._stores.codec import dump_event
from stepwork._stores.protocol import JournalBatch, Store
from stepwork._stores.records import corrupt_record
from stepwork._stores.tick_codec import dump_envelope, load_envelope, record_kind

__all__ = [
    "HistoryEntry",
    "ReplayReport",
    "enqueue_fork",
    "fork_run",
    "replay_run",
    "run_history",
    "summarise_record",
]


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
        writer: Id of the process that wrote the tick (``"host:pid:random"``), ``""`` for
            ticks written before envelopes existed.
        epoch: Lease epoch the tick was written under (0: without a lease).
    """

    seq: int
    at: float
    kind: str
    summary: str
    effects: list[str] = field(default_factory=list)
    status: str = "running"
    writer: str = ""
    epoch: int = 0


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
    workflow: DurableWorkflow, run_id: str, limit: int | None = None
) -> tuple[Store, list[dict[str, Any]]]:
    store = workflow.store
    if store is None:
        raise WorkflowRuntimeError(
            f"Workflow '{workflow.workflow_name}' has no store: time travel reads journaled runs."
        )
    await store.open()
    return store, await store.load_ticks(run_id, limit=limit)


def _envelope(
    record: dict[str, Any], registry: Any, steps: Any, run_id: str, seq: int
) -> TickEnvelope:
    try:
        return load_envelope(record, registry, steps)
    except JournalCorruptError as error:  # a newer schema: say which run and record
        raise JournalCorruptError(
            f"Run {run_id!r}, tick record seq {seq}: {error}", run_id=run_id, record="tick", seq=seq
        ) from error
    except ContextSerdeError as error:
        raise corrupt_record(run_id, "tick", seq, f"it cannot be read: {error}") from error


async def run_history(workflow: DurableWorkflow, run_id: str) -> list[HistoryEntry]:
    """One entry per tick of run ``run_id``, with what each changed.

    Raises:
        RunNotFoundError: If the store has no such run.
        JournalCorruptError: If a record is missing or cannot be read (among them one naming
            a type outside the workflow's allow-list); names the run and the seq.
    """
    _, records = await _records(workflow, run_id)
    registry = registry_for(workflow)
    definition = workflow.definition()
    reducer: Reducer = definition.reducer
    state = reducer.new_state(run_id)
    entries = []
    for seq, record in enumerate(records):
        envelope = _envelope(record, registry, definition.specs, run_id, seq)
        tick = envelope.tick
        commands = reducer.reduce(state, tick)
        entries.append(
            HistoryEntry(
                seq,
                tick.at,
                tick.kind,
                _summary(tick, record),
                _effects(commands),
                state.status,
                envelope.writer,
                envelope.epoch,
            )
        )
    return entries


async def replay_run(workflow: DurableWorkflow, run_id: str) -> ReplayReport:
    """Rebuild run ``run_id`` from its journal with today's code, without calling any step.

    Raises:
        RunNotFoundError: If the store has no such run.
    """
    store, records = await _records(workflow, run_id)
    recorded = await store.get_run(run_id)
    registry = registry_for(workflow)
    definition = workflow.definition()
    reducer: Reducer = definition.reducer
    state = reducer.new_state(run_id)
    problems: list[str] = []
    for seq, record in enumerate(records):
        try:
            tick = load_envelope(record, registry, definition.specs).tick
        except (ContextSerdeError, JournalCorruptError) as error:
            problems.append(f"tick {seq} ({record.get('kind')}): cannot be read: {error}")
            continue
        number = tick_invocation(tick)
        if number is not None:
            invocation = state.invocations.get(number)
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
    workflow: DurableWorkflow,
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
    if workflow.store is None:
        raise WorkflowRuntimeError(
            f"Workflow '{workflow.workflow_name}' has no store: forks copy journaled runs."
        )
    target = new_run_id or f"{run_id}-fork-{secrets.token_hex(3)}"

    async def copy() -> None:
        await _copy(workflow, run_id, target, at, state_patch, events)

    return resume_run(workflow, target, before=copy)


async def enqueue_fork(
    workflow: DurableWorkflow,
    run_id: str,
    *,
    at: int,
    state_patch: Mapping[str, Any] | None = None,
    events: Sequence[Event] | None = None,
    new_run_id: str | None = None,
) -> str:
    """Write a fork of run ``run_id`` (as :func:`fork_run` would) runnable at once, for a
    worker to continue; nothing runs here. Returns the new run's id once it is stored.

    Raises:
        RunNotFoundError: If there is no run ``run_id``.
        ValueError: If ``at`` is outside its journal.
        JournalConflictError: If ``new_run_id`` is taken.
    """
    target = new_run_id or f"{run_id}-fork-{secrets.token_hex(3)}"
    await _copy(workflow, run_id, target, at, state_patch, events, runnable=True)
    return target


async def _copy(
    workflow: DurableWorkflow,
    run_id: str,
    target: str,
    at: int,
    state_patch: Mapping[str, Any] | None,
    events: Sequence[Event] | None,
    *,
    runnable: bool = False,
) -> None:
    # Only the ticks copied are read, so a run damaged later on can be forked from before it.
    store, records = await _records(workflow, run_id, limit=max(at, 1))
    if not 1 <= at <= len(records):
        total = (await store.get_run(run_id)).ticks
        raise ValueError(f"at must be between 1 and {total} (the run's ticks), got {at}.")
    registry = registry_for(workflow)
    definition = workflow.definition()
    reducer: Reducer = definition.reducer
    state: RunState = reducer.new_state(target)
    copied: list[dict[str, Any]] = []
    published: list[dict[str, Any]] = []
    for seq, record in enumerate(records[:at]):
        record = {**record, "run_id": target} if record["kind"] == "start" else record
        tick = _envelope(record, registry, definition.specs, run_id, seq).tick
        for command in reducer.reduce(state, tick):
            if isinstance(command, CommandPublish):
                event = command.event
                event = event.to_event() if type(event) is StepNotice else event
                published.append(dump_event(event))
        copied.append(record)
    last_at = state.last_at or 0.0
    stamper = Stamper()  # the copied ticks keep their envelopes; what the fork adds is ours
    if state_patch:
        store_state = InMemoryStateStore.from_json(state.state, registry) if state.state else None
        patched = store_state or InMemoryStateStore(_default_state(workflow))
        patched.journaled = True
        for key, value in state_patch.items():
            await patched.set(key, value)
        copied.append(dump_envelope(stamper.stamp(TickStateWrite(last_at, patched.to_json()))))
    for event in events or ():
        copied.append(dump_envelope(stamper.stamp(TickEvent(last_at, event))))
    # The fork's row and its copied journal in one transaction: a failed copy leaves no run.
    batch = JournalBatch(
        target, 0, copied, 0, published, workflow=workflow.workflow_name, created_at=last_at,
        version=workflow.workflow_version,
        runnable_at=time.time() if runnable else None,
    )  # fmt: skip
    await store.append(batch)


def _default_state(workflow: DurableWorkflow) -> Any:
    return infer_state_type(workflow.definition().state_types)()


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


def _summary(tick: Tick, record: Mapping[str, Any]) -> str:
    """What ``tick`` (stored as ``record``) did; see :func:`summarise_record`."""
    return summarise_record(record, tick.kind)


def summarise_record(record: Mapping[str, Any], kind: TickKind | None = None) -> str:
    """One line saying what a stored tick record did (``"invocation 3 returned Joke"``).

    Reads the record only (event names as written, ``__model__``), so it needs none of the
    run's classes: the CLI summarises a store's runs without importing their workflows.

    Raises:
        ContextSerdeError: If the record's kind is not a tick kind.
    """
    name = _name
    kind = kind or record_kind(record)
    match kind:
        case "start":
            base = " from a restored or carried-over context" if record.get("base") else ""
            if record.get("start_event") is None:
                return f"run resumed{base}"
            parent = parent_of(record)
            child = f" as a child of run {parent!r}" if parent is not None else ""
            return f"run started with {name(record['start_event'])}{base}{child}"
        case "event":
            target = f" to step {record['step']}" if record.get("step") else ""
            return f"{name(record['event'])} sent{target}"
        case "step_done":
            return f"invocation {record['invocation']} returned {name(record.get('output'))}"
        case "step_failed":
            delay = record.get("retry_delay")
            retry = f", retry in {delay} s" if delay is not None else ""
            return f"invocation {record['invocation']} failed{retry}"
        case "publish":
            return f"invocation {record['invocation']} wrote {name(record['event'])} to the stream"
        case "collect":
            return f"invocation {record['invocation']} collected {name(record['event'])}"
        case "wait":
            waited = record["event_type"].rsplit(".", 1)[-1]
            return f"invocation {record['invocation']} waits for {waited}"
        case "state":
            return "state written"
        case "timer":
            return f"timer {record['timer_id']} fired"
        case "cancel":
            return "cancelled by the caller"
        case "once":
            invocation, number, called = record["invocation"], record["number"], record["name"]
            return f"invocation {invocation} {call_summary(number, called, record)}"
        case _:
            assert_never(kind)


def _effects(commands: list[Command]) -> list[str]:
    effects = []
    for command in commands:
        match command:
            case CommandRunStep(invocation=invocation):
                step = invocation.delivery.step
                effects.append(f"started step {step} (invocation {invocation.id})")
            case CommandPublish(event=event):
                if type(event) is not StepNotice:
                    effects.append(f"published {type(event).__name__}")
            case CommandSchedule():
                effects.append(f"scheduled timer {command.timer_id}")
            case CommandCancelStep():
                effects.append(f"cancelled invocation {command.invocation}")
            case CommandFinish():
                effects.append(f"run ended with {type(command.stop_event).__name__}")
            case CommandCancelTimer() | CommandResolveWaiter() | CommandCollected():
                pass  # bookkeeping a reader of the history does not need
            case _:
                assert_never(command)
    return effects
