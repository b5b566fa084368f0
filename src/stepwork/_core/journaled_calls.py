"""Journaled calls of a running step (``ctx.once``, child workflows), as the reducer keeps them.

Invariants:
- A call's outcome is kept under its invocation's *delivery* (``Delivery.key``), not the
  invocation: a resumed run re-queues the delivery as a new invocation, and that invocation
  must find the outcomes its predecessor journaled.
- Outcomes live only while the delivery's invocation runs: ``Scheduler.release`` drops them
  when it ends (done, failed or cancelled), so a retry calls again for real.
- A later outcome with the same number replaces the earlier one (a child workflow journals
  its start, then its ending, under one number).
- Outcomes are opaque JSON here; the runtime writes and reads them.
"""

from __future__ import annotations

from typing import Any

from stepwork._core.state import RunState
from stepwork._core.ticks import TickOnce

__all__ = ["journaled_outcome", "record_call"]


def record_call(state: RunState, tick: TickOnce) -> None:
    """Keep ``tick``'s outcome for its invocation's delivery (ignored once it has ended).

    Example:
        >>> from stepwork._core.state import Delivery, Invocation
        >>> state = RunState()
        >>> state.invocations[0] = Invocation(0, Delivery("s", None, key=7), 0, 0.0)
        >>> record_call(state, TickOnce(1.0, 0, 0, "llm", {"value": 3}))
        >>> journaled_outcome(state, 7, 0)
        ('llm', {'value': 3})
    """
    invocation = state.invocations.get(tick.invocation)
    if invocation is None:
        return  # the invocation ended (cancelled, timed out) before its call was recorded
    state.calls.setdefault(invocation.delivery.key, {})[tick.number] = (tick.name, tick.outcome)


def journaled_outcome(state: RunState, delivery: int, number: int) -> tuple[str, Any] | None:
    """The ``(name, outcome)`` journaled for call ``number`` of ``delivery``, or ``None``."""
    calls = state.calls.get(delivery)
    return None if calls is None else calls.get(number)
