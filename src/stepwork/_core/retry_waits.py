"""Wait strategies: how long to sleep before the next attempt of a failed step.

A wait strategy is called with the 0-based retry index (``0`` before the first retry) and an
optional ``seed``, and returns a delay in seconds. Strategies compose with ``+`` (the delays add
up) and work with the built-in ``sum()``.

Invariants:
    * Deterministic strategies depend on the retry index only.
    * Random strategies live in ``retry_jitter``.
    * Exponential growth that overflows a float is treated as infinite and then clamped to
      ``max`` instead of raising ``OverflowError``.

Class names are lower-case, and ``min``/``max`` shadow builtins, because LlamaIndex Workflows code
spells them that way.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Protocol, TypeAlias

__all__ = [
    "WaitStrategy",
    "WaitStrategyBase",
    "clamped_exponential",
    "scaled_power",
    "time_unit_type",
    "to_seconds",
    "wait_chain",
    "wait_combine",
    "wait_exponential",
    "wait_fixed",
    "wait_incrementing",
    "wait_none",
]

time_unit_type: TypeAlias = int | float | timedelta
"""A duration: seconds as a number, or a :class:`datetime.timedelta`."""


def to_seconds(value: time_unit_type) -> float:
    """Convert a duration to seconds.

    Args:
        value: Seconds as a number, or a ``timedelta``.

    Returns:
        The duration in seconds as a float.

    Raises:
        TypeError: If ``value`` is neither a number nor a ``timedelta``.
        ValueError: If ``value`` is a string that does not spell a number.
    """
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


class WaitStrategy(Protocol):
    """Anything that maps a 0-based retry index to a delay in seconds."""

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        """Return the delay before retry number ``attempts`` (0-based)."""
        ...


def scaled_power(multiplier: float, exp_base: float, attempts: int) -> float:
    """Return ``multiplier * exp_base ** attempts``, infinite (signed) where a float overflows.

    Args:
        multiplier: The value at ``attempts == 0``.
        exp_base: The growth factor.
        attempts: The exponent.

    Returns:
        The product; ``0.0`` when ``multiplier`` is zero whatever the power.
    """
    try:
        return multiplier * exp_base**attempts
    except OverflowError:
        # Clamping an overflow to ``max`` is what a caller means; raising would crash the step.
        return math.copysign(math.inf, multiplier) if multiplier else 0.0


def clamped_exponential(
    multiplier: float, exp_base: float, attempts: int, low: float, high: float
) -> float:
    """Return ``multiplier * exp_base ** attempts`` clamped to ``[max(0, low), high]``.

    Args:
        multiplier: The value at ``attempts == 0``.
        exp_base: The growth factor.
        attempts: The 0-based retry index.
        low: The lower bound (never below zero).
        high: The upper bound.

    Returns:
        The clamped delay; an overflowing power counts as infinite before clamping.
    """
    return max(max(0.0, low), min(scaled_power(multiplier, exp_base, attempts), high))


class WaitStrategyBase:
    """Shared ``+`` composition for the built-in wait strategies."""

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        """Return the delay before retry number ``attempts`` (0-based)."""
        raise NotImplementedError

    def __add__(self, other: WaitStrategy) -> wait_combine:
        if not callable(other):
            return NotImplemented
        return wait_combine(self, other)

    def __radd__(self, other: object) -> WaitStrategyBase:
        # sum() starts from 0; treating 0 as "no wait" makes sum(strategies) work.
        if other == 0:
            return self
        if not callable(other):
            return NotImplemented
        return wait_combine(other, self)


class wait_fixed(WaitStrategyBase):
    """Wait the same time before every retry.

    Args:
        wait: The delay, in seconds or as a ``timedelta``.
    """

    def __init__(self, wait: time_unit_type) -> None:
        self.wait = to_seconds(wait)

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        """Return the fixed delay."""
        return self.wait


class wait_none(wait_fixed):
    """Retry immediately."""

    def __init__(self) -> None:
        super().__init__(0.0)


class wait_exponential(WaitStrategyBase):
    """Wait ``multiplier * exp_base ** n`` seconds before retry ``n``, clamped to ``[min, max]``.

    Args:
        multiplier: The delay before the first retry.
        exp_base: The growth factor between retries.
        max: The longest delay.
        min: The shortest delay (never below zero).
    """

    def __init__(
        self,
        multiplier: int | float = 1.0,
        exp_base: int | float = 2.0,
        max: time_unit_type = 60.0,
        min: time_unit_type = 0.0,
    ) -> None:
        self.multiplier = float(multiplier)
        self.exp_base = float(exp_base)
        self.max = to_seconds(max)
        self.min = to_seconds(min)

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        """Return the clamped exponential delay."""
        return clamped_exponential(self.multiplier, self.exp_base, attempts, self.min, self.max)


class wait_incrementing(WaitStrategyBase):
    """Wait ``start + increment * n`` seconds before retry ``n``, clamped to ``[0, max]``.

    Args:
        start: The delay before the first retry.
        increment: What each further retry adds.
        max: The longest delay.
    """

    def __init__(
        self,
        start: time_unit_type = 0.0,
        increment: time_unit_type = 100.0,
        max: time_unit_type = float("inf"),
    ) -> None:
        self.start = to_seconds(start)
        self.increment = to_seconds(increment)
        self.max = to_seconds(max)

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        """Return the clamped linear delay."""
        return max(0.0, min(self.start + self.increment * attempts, self.max))


class wait_chain(WaitStrategyBase):
    """Use the n-th strategy for retry ``n``; the last one repeats for later retries.

    The chosen strategy receives the overall retry index, not its position in the chain.

    Args:
        *strategies: At least one wait strategy.

    Raises:
        ValueError: If no strategy is given.
    """

    def __init__(self, *strategies: WaitStrategy) -> None:
        if not strategies:
            raise ValueError("wait_chain requires at least one strategy")
        self.strategies = strategies

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        """Return the delay of the strategy chosen for this retry."""
        chosen = self.strategies[min(attempts, len(self.strategies) - 1)]
        return chosen(attempts, seed=seed)


class wait_combine(WaitStrategyBase):
    """Wait the sum of several strategies' delays (what ``a + b`` builds).

    Every strategy receives the same ``seed``.

    Args:
        *strategies: The strategies to add up; none means no wait.
    """

    def __init__(self, *strategies: WaitStrategy) -> None:
        self.strategies = strategies

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        """Return the summed delay."""
        return float(sum(strategy(attempts, seed=seed) for strategy in self.strategies))
