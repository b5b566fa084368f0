"""A run's reducer state (``RunState``) as plain JSON, and back.

Used by context snapshots (``ctx.to_dict()``) and by the journal, whose first ``TickStart`` of
a run that continues a restored or carried-over context records the state it starts from.
Event classes are looked up through the caller's allow-list; nothing is imported by name.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Collection
from typing import Any, assert_never

from stepwork._core.errors import ContextSerdeError, StateSerializationError
from stepwork._core.events import UnreconstructedException
from stepwork._core.state import (
    Delivery,
    FanOutStream,
    Invocation,
    RunState,
    StepRuntime,
    Waiter,
)
from stepwork._core.timers import RetryTimer, RunTimer, StepTimer, Timer, WaitTimer
from stepwork._stores.codec import TypeRegistry, dump_event, dump_value, load_event, load_value

__all__ = ["dump_run_state", "load_run_state"]


def dump_run_state(state: RunState, *, snapshot: bool = False) -> dict[str, Any]:
    """``state`` as JSON (the reducer's view of a run).

    Args:
        state: The run state.
        snapshot: For a context snapshot rather than a journal: a human wait's requirement
            whose value cannot be serialised (a live object) is left out and its key listed
            under ``unrestorable``. Its step runs again after a restore and registers the
            wait afresh with the full requirements; until then the wait matches on the others.

    Raises:
        StateSerializationError: If something in the state cannot be serialised.
    """
    return {
        "run_id": state.run_id,
        "status": state.status,
        "started_at": state.started_at,
        "timeout": state.timeout,
        "steps": {name: _dump_step(rt) for name, rt in state.steps.items()},
        "invocations": [
            {
                "id": i.id,
                "delivery": _dump_delivery(i.delivery),
                "worker": i.worker,
                "started_at": i.started_at,
            }
            for i in state.invocations.values()
        ],
        "waiters": {
            key: {
                "invocation": w.invocation,
                "step": w.step,
                "event_type": _type_name(w.event_type),
                **_dump_requirements(w.requirements, snapshot),
                "accept_subclasses": w.accept_subclasses,
                "resolved": dump_event(w.resolved) if w.resolved is not None else None,
            }
            for key, w in state.waiters.items()
        },
        "waiter_events_sent": sorted(state.waiter_events_sent),
        "answers": {key: dump_event(event) for key, event in state.answers.items()},
        **_dump_collects(state),
        **_dump_calls(state),
        "streams": {
            str(number): {
                "parent": [list(p) for p in s.parent],
                "producer": s.producer,
                "collectors": list(s.collectors),
                "live": s.live,
                "gathered": {k: [dump_event(e) for e in v] for k, v in s.gathered.items()},
                "fired": sorted(s.fired),
                "recoveries": [list(r) for r in s.recoveries],
            }
            for number, s in state.streams.items()
        },
        "timers": {key: _dump_timer(timer) for key, timer in state.timers.items()},
        "counters": [
            state.next_invocation,
            state.next_stream,
            state.next_timer,
            state.tick_count,
            state.next_delivery,
        ],
        "last_at": state.last_at,
        "input_requested": state.input_requested,
        "idle_announced": state.idle_announced,
        "dead_ends": [list(d) for d in state.dead_ends],
        "stop_event": dump_event(state.stop_event) if state.stop_event is not None else None,
        "error": _dump_error(state.error),
        "error_traceback": state.error_traceback,
        "run_budget": state.run_budget,
        "state": state.state,
    }


def load_run_state(
    data: dict[str, Any], registry: TypeRegistry, specs: Collection[str] | None = None
) -> RunState:
    """Rebuild a ``RunState`` from :func:`dump_run_state` output; ``specs`` are the workflow's
    step names (default: the snapshot's).

    Raises:
        ContextSerdeError: If a step in the snapshot no longer exists, or a type is not allowed.
    """
    if specs is None:
        specs = list(data["steps"])
    unknown = sorted(set(data["steps"]) - set(specs))
    if unknown:
        raise ContextSerdeError(
            f"The snapshot names steps this workflow does not have: {', '.join(unknown)}."
        )
    state = RunState(
        run_id=data["run_id"],
        status=data["status"],
        started_at=data["started_at"],
        timeout=data["timeout"],
        steps={name: StepRuntime() for name in specs},
    )
    for name, step in data["steps"].items():
        state.steps[name] = _load_step(step, registry)
    for item in data["invocations"]:
        delivery = _load_delivery(item["delivery"], registry)
        state.invocations[item["id"]] = Invocation(
            item["id"], delivery, item["worker"], item["started_at"]
        )
        state.steps[delivery.step].running[item["id"]] = item["worker"]
    for key, w in data["waiters"].items():
        state.waiters[key] = Waiter(
            w["invocation"],
            w["step"],
            registry.lookup(w["event_type"]),
            tuple((k, load_value(v, registry)) for k, v in w["requirements"]),
            w["accept_subclasses"],
            load_event(w["resolved"], registry) if w["resolved"] is not None else None,
        )
    state.waiter_events_sent = set(data["waiter_events_sent"])
    state.answers = {key: load_event(event, registry) for key, event in data["answers"].items()}
    # Left out when empty, and by snapshots written before collect answers were kept.
    for number, buffer, count in data.get("collect_calls", ()):
        state.collect_calls.setdefault(number, {})[buffer] = count
    for key, buffer, call, events in data.get("collected", ()):
        answer = None if events is None else [load_event(e, registry) for e in events]
        state.collected.setdefault(key, {})[(buffer, call)] = answer
    state.calls = {  # snapshots written before ``ctx.once`` existed have none
        int(delivery): {number: (name, outcome) for number, name, outcome in calls}
        for delivery, calls in data.get("calls", {}).items()
    }
    for number, s in data["streams"].items():
        state.streams[int(number)] = FanOutStream(
            tuple((a, b) for a, b in s["parent"]),
            s["producer"],
            tuple(s["collectors"]),
            s["live"],
            {k: [load_event(e, registry) for e in v] for k, v in s["gathered"].items()},
            set(s["fired"]),
            tuple((a, b) for a, b in s["recoveries"]),
        )
    state.timers = {key: _load_timer(key, timer) for key, timer in data["timers"].items()}
    (
        state.next_invocation,
        state.next_stream,
        state.next_timer,
        state.tick_count,
        state.next_delivery,
    ) = data["counters"]
    state.last_at = data["last_at"]
    state.input_requested = data["input_requested"]
    state.idle_announced = data["idle_announced"]
    state.dead_ends = [(a, b) for a, b in data["dead_ends"]]
    state.stop_event = load_event(data["stop_event"], registry) if data["stop_event"] else None
    state.error = _load_error(data["error"])
    # Snapshots written before these fields existed have neither.
    state.error_traceback = data.get("error_traceback")
    state.run_budget = data.get("run_budget")
    state.state = data["state"]
    return state


def _dump_collects(state: RunState) -> dict[str, Any]:
    """The collect calls of running invocations and their answers; left out when there are
    none (a run between steps, or ended), so such states dump as they did before."""
    dumped: dict[str, Any] = {}
    if state.collect_calls:
        dumped["collect_calls"] = [
            [number, buffer, count]
            for number, calls in state.collect_calls.items()
            for buffer, count in calls.items()
        ]
    if state.collected:
        dumped["collected"] = [
            [key, buffer, call, None if events is None else [dump_event(e) for e in events]]
            for key, answers in state.collected.items()
            for (buffer, call), events in answers.items()
        ]
    return dumped


def _dump_calls(state: RunState) -> dict[str, Any]:
    """Journaled call outcomes, left out when there are none (snapshots then keep the shape
    they had before ``ctx.once`` existed)."""
    if not state.calls:
        return {}
    return {
        "calls": {
            str(delivery): [[number, name, outcome] for number, (name, outcome) in calls.items()]
            for delivery, calls in state.calls.items()
        }
    }


def _dump_requirements(requirements: tuple[tuple[str, Any], ...], snapshot: bool) -> dict[str, Any]:
    kept: list[list[Any]] = []
    unrestorable: list[str] = []
    for key, value in requirements:
        try:
            kept.append([key, dump_value(value, path=key, label="wait requirement")])
        except StateSerializationError:
            if not snapshot:
                raise
            unrestorable.append(key)
    return {"requirements": kept, **({"unrestorable": unrestorable} if unrestorable else {})}


def _dump_step(rt: StepRuntime) -> dict[str, Any]:
    return {
        "queue": [_dump_delivery(d) for d in rt.queue],
        "delayed": {str(n): _dump_delivery(d) for n, d in rt.delayed.items()},
        "buffers": {k: [dump_event(e) for e in v] for k, v in rt.buffers.items()},
        "joins": [
            [
                [list(p) for p in scope],
                {param: [dump_event(e) for e in q] for param, q in slots.items()},
            ]
            for scope, slots in rt.joins.items()
        ],
    }


def _load_step(data: dict[str, Any], registry: TypeRegistry) -> StepRuntime:
    rt = StepRuntime()
    rt.queue = deque(_load_delivery(d, registry) for d in data["queue"])
    rt.delayed = {int(n): _load_delivery(d, registry) for n, d in data["delayed"].items()}
    rt.buffers = {k: [load_event(e, registry) for e in v] for k, v in data["buffers"].items()}
    for scope, slots in data["joins"]:
        key = tuple((a, b) for a, b in scope)
        rt.joins[key] = {p: deque(load_event(e, registry) for e in q) for p, q in slots.items()}
    return rt


def _dump_delivery(d: Delivery) -> dict[str, Any]:
    payload: dict[str, Any]
    if isinstance(d.payload, list):
        payload = {"list": [dump_event(e) for e in d.payload]}
    elif isinstance(d.payload, dict):
        payload = {"join": {k: dump_event(e) for k, e in d.payload.items()}}
    else:
        payload = {"event": dump_event(d.payload)}
    return {
        "step": d.step,
        "payload": payload,
        "scope": [list(p) for p in d.scope],
        "attempts": d.attempts,
        "first_attempt_at": d.first_attempt_at,
        "last_error": _dump_error(d.last_error),
        "last_failed_at": d.last_failed_at,
        "recoveries": [list(r) for r in d.recoveries],
        "not_before": d.not_before,
        "key": d.key,
    }


def _load_delivery(data: dict[str, Any], registry: TypeRegistry) -> Delivery:
    raw = data["payload"]
    payload: Any
    if "list" in raw:
        payload = [load_event(e, registry) for e in raw["list"]]
    elif "join" in raw:
        payload = {k: load_event(e, registry) for k, e in raw["join"].items()}
    else:
        payload = load_event(raw["event"], registry)
    return Delivery(
        step=data["step"],
        payload=payload,
        scope=tuple((a, b) for a, b in data["scope"]),
        attempts=data["attempts"],
        first_attempt_at=data["first_attempt_at"],
        last_error=_load_error(data["last_error"]),
        last_failed_at=data["last_failed_at"],
        recoveries=tuple((a, b) for a, b in data["recoveries"]),
        not_before=data["not_before"],
        key=data["key"],
    )


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _dump_error(error: BaseException | None) -> dict[str, str] | None:
    if error is None:
        return None
    # A stand-in keeps the name of the class it stands for, so round trips are stable.
    original = (
        getattr(error, "original_type", None)
        if isinstance(error, UnreconstructedException)
        else None
    )
    return {"exception_type": original or _type_name(type(error)), "exception_message": str(error)}


def _load_error(data: dict[str, str] | None) -> BaseException | None:
    if data is None:
        return None
    import builtins

    module, _, name = data["exception_type"].rpartition(".")
    candidate = getattr(builtins, name, None) if module == "builtins" else None
    if isinstance(candidate, type) and issubclass(candidate, BaseException):
        return _builtin_error(candidate, data["exception_message"])
    return UnreconstructedException(data["exception_message"], original_type=data["exception_type"])


def _builtin_error(cls: type[BaseException], message: str) -> BaseException:
    """``cls`` rebuilt so that its ``str`` is ``message`` again: ``KeyError('k')`` reads as
    ``"'k'"``, so rebuilding it from that text needs the text's literal value."""
    error = cls(message)
    if str(error) != message:
        try:
            value = ast.literal_eval(message)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return error
        again = cls(value)
        if str(again) == message:
            return again
    return error


def _dump_timer(timer: Timer) -> dict[str, Any]:
    # ``{"at", "kind", "ref"}``: the shape snapshots and journals have always had.
    match timer:
        case RunTimer():
            return {"at": timer.at, "kind": "run", "ref": None}
        case RetryTimer():
            return {"at": timer.at, "kind": "retry", "ref": [timer.step, timer.number]}
        case WaitTimer():
            return {"at": timer.at, "kind": "wait", "ref": timer.waiter}
        case StepTimer():
            return {"at": timer.at, "kind": "step", "ref": timer.invocation}
        case _:
            assert_never(timer)


def _load_timer(key: str, data: dict[str, Any]) -> Timer:
    at, kind, ref = data["at"], data["kind"], data["ref"]
    if kind == "run":
        return RunTimer(at)
    if kind == "retry":
        step, number = ref
        return RetryTimer(at, step, number)
    if kind == "wait":
        return WaitTimer(at, ref)
    if kind == "step":
        return StepTimer(at, ref)
    raise ContextSerdeError(
        f"Timer {key!r} has an unknown kind {kind!r}: the snapshot was written by a newer or "
        "different version. Known kinds: retry, run, step, wait."
    )
