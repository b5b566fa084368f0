"""Named limits on step invocations: the declaration, and the pure rules that grant slots.

A :class:`Limit` caps how many invocations of the steps that opt into it (``@step(limit=name)``)
run at once (``concurrency``) and how many may start in any 60-second window (``per_minute``),
optionally per value of a start-event field (``key``). Stores keep waiters, held slots and
recent starts; :func:`grant` decides, from those rows, who may start now.

Invariants:
- Pure: time arrives as ``now``; nothing here reads a clock or does I/O.
- Fair between runs: waiters are served round-robin by run. A run's ``k``-th waiting
  invocation queues at position ``held + k`` (``held``: the slots its run holds now); ties go
  to the run served least recently (never, or not within the window, first), then by arrival.
  So one run fanning out 100 calls cannot starve another run's one call.
- ``per_minute`` is a sliding window: at most ``per_minute`` grants in any 60 s ending now.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stepwork._core.errors import WorkflowValidationError

__all__ = [
    "RATE_WINDOW",
    "Grant",
    "Limit",
    "Waiter",
    "grant",
    "retry_after_delay",
    "retry_after_of",
]

RATE_WINDOW = 60.0
"""Seconds of the sliding window ``per_minute`` counts over."""


@dataclass(frozen=True)
class Limit:
    """A named cap on invocations of the steps that opt in with ``@step(limit=name)``.

    Declared on a workflow class (``limits = {"openai": Limit(concurrency=10)}``) and enforced
    across every process sharing the run's store; runs without a store share a limiter per
    process. Every process must declare the same numbers for a name (the first to use it
    writes them to the store; a different declaration raises ``LimitConflictError``).

    Args:
        concurrency: Most invocations holding a slot at once (``None``: no cap).
        per_minute: Most invocations that may start in any 60 seconds (``None``: no cap).
        key: A start-event field whose value splits the limit: each value (each tenant)
            gets its own ``concurrency`` and ``per_minute``. ``None``: one limit for all.

    Raises:
        WorkflowValidationError: If a number is not a positive integer, both are ``None``,
            or ``key`` is not a non-empty string.

    Example:
        >>> Limit(concurrency=10, per_minute=500)
        Limit(concurrency=10, per_minute=500, key=None)
    """

    concurrency: int | None = None
    per_minute: int | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        for name in ("concurrency", "per_minute"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise WorkflowValidationError(
                    f"Limit({name}={value!r}): {name} must be a positive integer or None."
                )
        if self.concurrency is None and self.per_minute is None:
            raise WorkflowValidationError(
                "Limit() caps nothing: give concurrency=N, per_minute=N or both."
            )
        if self.key is not None and (not isinstance(self.key, str) or not self.key):
            raise WorkflowValidationError(
                f"Limit(key={self.key!r}): key must name a start-event field, or be None."
            )

    def describe(self) -> str:
        """The numbers as a ``Limit(...)`` call, for messages."""
        return (
            f"Limit(concurrency={self.concurrency}, per_minute={self.per_minute}, key={self.key!r})"
        )


@dataclass(frozen=True)
class Waiter:
    """An invocation waiting for a slot: its slot id, its run and its place in arrival order."""

    slot_id: str
    run_id: str
    arrived: int


@dataclass(frozen=True)
class Grant:
    """What :func:`grant` decided.

    Attributes:
        granted: The slot ids that may start now, in fair order.
        retry_at: When the rate window frees a start for those still waiting (``None``: only
            a slot being released can let them start).
    """

    granted: tuple[str, ...]
    retry_at: float | None


def grant(
    limit: Limit,
    waiters: Sequence[Waiter],
    held: Sequence[str],
    starts: Sequence[float],
    now: float,
    served: Mapping[str, float] | None = None,
) -> Grant:
    """Which ``waiters`` may start now.

    Args:
        limit: The limit's numbers.
        waiters: Live invocations waiting for a slot of this limit (and key value).
        held: The run id of every live slot held now.
        starts: When each grant within the last window was made (kept for ``per_minute``).
        now: The time.
        served: When each run was last granted a slot (within the window), for ties.

    Example:
        >>> w = [Waiter("a1", "a", 1), Waiter("a2", "a", 2), Waiter("b1", "b", 3)]
        >>> grant(Limit(concurrency=2), w, held=["a"], starts=[], now=0.0).granted
        ('b1',)
        >>> rated = grant(Limit(per_minute=2), w, held=[], starts=[5.0, 30.0], now=40.0)
        >>> rated.granted, rated.retry_at
        ((), 65.0)
    """
    free = math.inf if limit.concurrency is None else limit.concurrency - len(held)
    recent = sorted(at for at in starts if at + RATE_WINDOW > now)  # as retry_at is reckoned
    served = served or {}
    rate_free = math.inf if limit.per_minute is None else limit.per_minute - len(recent)
    room = max(0, int(min(free, rate_free, len(waiters))))
    holding = Counter(held)
    order: list[tuple[int, float, int, str]] = []
    seen: Counter[str] = Counter()
    for waiter in sorted(waiters, key=lambda w: w.arrived):
        seen[waiter.run_id] += 1
        place = holding[waiter.run_id] + seen[waiter.run_id]
        last = served.get(waiter.run_id, -math.inf)
        order.append((place, last, waiter.arrived, waiter.slot_id))
    order.sort()
    granted = tuple(slot_id for *_, slot_id in order[:room])
    retry_at = None
    if len(granted) < len(waiters) and rate_free <= room and limit.per_minute is not None:
        # The window frees its oldest start first; a grant now counts as a start at ``now``.
        window = [*recent, *([now] * len(granted))]
        retry_at = window[len(window) - limit.per_minute] + RATE_WINDOW
    return Grant(granted, retry_at)


def retry_after_of(error: BaseException) -> float | None:
    """The seconds an error asks to wait before the next attempt, or ``None``.

    Read from a ``retry_after`` attribute (``stepwork.RetryAfter`` and errors of other
    libraries that carry one), else from the ``Retry-After`` header (seconds) of a
    ``response`` the error carries (httpx's ``HTTPStatusError``, openai's
    ``RateLimitError``). An HTTP date in the header is not read.

    Example:
        >>> class Limited(Exception):
        ...     retry_after = 2.5
        >>> retry_after_of(Limited()), retry_after_of(ValueError())
        (2.5, None)
    """
    value = getattr(error, "retry_after", None)
    if value is None:
        headers = getattr(getattr(error, "response", None), "headers", None)
        if headers is not None and hasattr(headers, "get"):
            value = headers.get("retry-after")
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        return None
    if seconds is None or not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def retry_after_delay(policy_delay: float, retry_after: float, jitter: float, draw: float) -> float:
    """The delay before the next attempt of a step that asked to wait ``retry_after`` seconds.

    Never earlier than ``retry_after``, nor than the retry policy's own delay, plus
    ``draw * jitter`` (``draw`` uniform in [0, 1), drawn per failure) so a fleet told the same
    ``retry_after`` does not retry in lockstep.

    Example:
        >>> retry_after_delay(1.0, 10.0, jitter=2.0, draw=0.5)
        11.0
    """
    return max(policy_delay, retry_after) + max(0.0, jitter) * draw
