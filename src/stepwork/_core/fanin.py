"""Fan-out streams, joins and ``collect_events`` buffers.

Invariants:
- A step returning ``list[E]`` opens a stream; each element travels with the lineage
  ``scope + ((stream, index),)``. The stream closes when no delivery, invocation or child
  stream carries its lineage any more; then every bound collector that has not fired yet fires
  once with what it gathered, in order of arrival (``[]`` for an empty stream).
- A join fires once one event per slot has arrived within the same lineage scope.
- ``collect_events`` releases events ordered as ``expected`` and empties what it released.
- A ``collect_events`` call is answered once per (delivery, buffer, call number within the
  invocation): a delivery that runs again (resumed mid-flight, or retried) gets the answers its
  earlier invocation got, and its events are not buffered twice. The answers are forgotten when
  the delivery is done, so each costs O(1) and lives no longer than the delivery.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from stepwork._core.commands import Command, CommandCollected
from stepwork._core.routing import Router
from stepwork._core.scheduling import Scheduler
from stepwork._core.state import Delivery, FanOutStream, RunState, Scope
from stepwork._core.ticks import TickCollect

__all__ = ["FanIn", "forget_collects", "release_collected", "run_length"]

Recoveries = tuple[tuple[str, int], ...]


class FanIn(Scheduler):
    """Stream, join and buffer bookkeeping, shared by the reducer's tick handlers."""

    router: Router

    def open_stream(
        self,
        state: RunState,
        producer: str,
        members: list[Any],
        scope: Scope,
        recoveries: Recoveries,
        at: float,
        out: list[Command],
    ) -> None:
        """Open a fan-out stream for ``members`` and route each of them."""
        number = state.next_stream
        state.next_stream = number + 1
        collectors = self.router.collectors(producer)
        state.streams[number] = FanOutStream(scope, producer, collectors, recoveries=recoveries)
        self.hold(state, scope, 1)
        for index, member in enumerate(members):
            self.route(state, member, (*scope, (number, index)), recoveries, at, out)
        self.maybe_close(state, number, at, out)

    def gather(
        self,
        state: RunState,
        name: str,
        event: Any,
        scope: Scope,
        at: float,
        out: list[Command],
    ) -> bool:
        """Add a stream member to collector ``name``; False when it belongs to no stream of it."""
        stream = state.streams.get(scope[-1][0]) if scope else None
        if stream is None or name not in stream.collectors or name in stream.fired:
            return False
        gathered = stream.gathered.setdefault(name, [])
        gathered.append(event)
        collect = self.spec.steps[name].collect
        if collect is not None and collect.take is not None and len(gathered) >= collect.take:
            stream.fired.add(name)
            payload = list(gathered)
            self.enqueue(
                state, Delivery(name, payload, stream.parent, recoveries=stream.recoveries), at, out
            )
        return True

    def maybe_close(self, state: RunState, number: int, at: float, out: list[Command]) -> None:
        """Close stream ``number`` if nothing carries its lineage; fire its collectors."""
        stream = state.streams.get(number)
        if stream is None or stream.live > 0:
            return
        del state.streams[number]
        for name in stream.collectors:
            if name not in stream.fired:
                payload = stream.gathered.get(name, [])
                delivery = Delivery(name, payload, stream.parent, recoveries=stream.recoveries)
                self.enqueue(state, delivery, at, out)
        self.hold(state, stream.parent, -1)
        if stream.parent:
            self.maybe_close(state, stream.parent[-1][0], at, out)

    def join(
        self,
        state: RunState,
        name: str,
        event: Any,
        scope: Scope,
        recoveries: Recoveries,
        at: float,
        out: list[Command],
    ) -> None:
        """Put ``event`` into its slot of join step ``name``; fire when every slot is filled."""
        step = self.spec.steps[name]
        slots = state.steps[name].joins.setdefault(scope, {})
        filled = ""
        for param, slot_type in step.slots:
            if type(event) is slot_type or (
                step.accept_subclasses and isinstance(event, slot_type)
            ):
                slots.setdefault(param, deque()).append(event)
                filled = param
                break
        if all(slots.get(param) for param, _ in step.slots):
            # The slot this event completed goes last: it is the join's trigger.
            payload = {param: slots[param].popleft() for param, _ in step.slots if param != filled}
            payload[filled] = slots[filled].popleft()
            for param in [p for p, queue in slots.items() if not queue]:
                del slots[param]
            if not slots:
                del state.steps[name].joins[scope]
            self.enqueue(state, Delivery(name, payload, scope, recoveries=recoveries), at, out)

    def collect(self, state: RunState, tick: TickCollect, out: list[Command]) -> None:
        """Fold one ``collect_events`` call: buffer its event and answer what it released.

        The call's answer is kept under (delivery, buffer, call number); the same call of a
        re-run of the delivery gets that answer back and buffers nothing.
        """
        invocation = state.invocations.get(tick.invocation)
        if invocation is None:
            # The invocation has ended (a step in a thread outlived its timeout): it collects
            # nothing, and a late answer has nowhere to go but "not yet".
            out.append(CommandCollected(tick.invocation, None))
            return
        calls = state.collect_calls.setdefault(tick.invocation, {})
        call = calls.get(tick.buffer_id, 0)
        calls[tick.buffer_id] = call + 1
        answers = state.collected.setdefault(invocation.delivery.key, {})
        key = (tick.buffer_id, call)
        if key in answers:
            earlier = answers[key]
            out.append(CommandCollected(tick.invocation, None if earlier is None else [*earlier]))
            return
        buffer = state.steps[invocation.delivery.step].buffers.setdefault(tick.buffer_id, [])
        buffer.append(tick.event)
        released = release_collected(buffer, tick.expected_count, tick.expected)
        answers[key] = released
        out.append(CommandCollected(tick.invocation, released))

    def route(
        self,
        state: RunState,
        event: Any,
        scope: Scope,
        recoveries: Recoveries,
        at: float,
        out: list[Command],
        target: str | None = None,
    ) -> None:
        """Deliver ``event`` (defined by the reducer)."""
        raise NotImplementedError


def forget_collects(state: RunState, delivery: Delivery) -> None:
    """``delivery`` is done (it will not run again): drop the answers its collects got."""
    if state.collected:
        state.collected.pop(delivery.key, None)


def release_collected(
    buffer: list[Any], expected_count: int, expected: tuple[tuple[type, int], ...] | None
) -> list[Any] | None:
    """Take the events ``expected`` names out of ``buffer``, or ``None`` while some are missing.

    ``expected`` is run-length encoded (``((A, 2), (B, 1))`` for ``[A, A, B]``) so a fan-in of
    thousands of events costs O(1) per call until the buffer is long enough.
    """
    if len(buffer) < expected_count or expected is None:
        return None
    by_type: dict[type, deque[int]] = {}
    for index, event in enumerate(buffer):
        by_type.setdefault(type(event), deque()).append(index)
    chosen: list[int] = []
    for event_type, count in expected:
        indexes = by_type.get(event_type)
        if indexes is None or len(indexes) < count:
            return None
        chosen.extend(indexes.popleft() for _ in range(count))
    released = [buffer[index] for index in chosen]
    taken = set(chosen)
    buffer[:] = [event for index, event in enumerate(buffer) if index not in taken]
    return released


def run_length(expected: list[type]) -> tuple[tuple[type, int], ...]:
    """``expected`` run-length encoded, as :func:`release_collected` takes it.

    Example:
        >>> run_length([int, int, str])
        ((<class 'int'>, 2), (<class 'str'>, 1))
    """
    runs: list[tuple[type, int]] = []
    for event_type in expected:
        if runs and runs[-1][0] is event_type:
            runs[-1] = (event_type, runs[-1][1] + 1)
        else:
            runs.append((event_type, 1))
    return tuple(runs)
