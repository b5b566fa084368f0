"""Random wait strategies: spread retries out so that failing callers do not retry in lockstep.

Invariants:
    * With a ``seed`` every strategy draws exactly once from a fresh ``random.Random(seed)``, so
      the same seed gives the same delay. (Replays do not rely on it: the delay the driver chose
      is journaled in ``TickStepFailed``, and the driver draws a fresh seed for every failure.)
    * Without a seed they draw from the ``random`` module's shared generator, as LlamaIndex
      Workflows does, so ``random.seed()`` still governs them.
    * Exponential growth that overflows a float is clamped to ``max`` instead of raising.
    * Class names are lower-case, and ``min``/``max`` shadow builtins, because LlamaIndex Workflows
      code spells them that way.
"""

from __future__ import annotations

import random

from stepwork._core.retry_waits import (
    WaitStrategyBase,
    clamped_exponential,
    scaled_power,
    time_unit_type,
    to_seconds,
)

__all__ = [
    "wait_exponential_jitter",
    "wait_full_jitter",
    "wait_random",
    "wait_random_exponential",
]


def _uniform(low: float, high: float, seed: int | None) -> float:
    if seed is None:
        return random.uniform(low, high)
    return random.Random(seed).uniform(low, high)


class wait_random(WaitStrategyBase):
    """Wait a uniformly random time between ``min`` and ``max``.

    Args:
        min: The shortest delay.
        max: The longest delay.
    """

    def __init__(
        self,
        min: time_unit_type = 0.0,
        max: time_unit_type = 1.0,
    ) -> None:
        self.min = to_seconds(min)
        self.max = to_seconds(max)

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        """Return a random delay; the same ``seed`` gives the same delay."""
        return _uniform(self.min, self.max, seed)


class wait_exponential_jitter(WaitStrategyBase):
    """Wait ``initial * exp_base ** n`` plus up to ``jitter`` random seconds, capped at ``max``.

    Args:
        initial: The delay before the first retry, before jitter.
        exp_base: The growth factor between retries.
        max: The longest delay.
        jitter: The largest random amount added.
    """

    def __init__(
        self,
        initial: float = 1.0,
        exp_base: float = 2.0,
        max: float = 60.0,
        jitter: float = 1.0,
    ) -> None:
        self.initial = to_seconds(initial)
        self.exp_base = float(exp_base)
        self.max = to_seconds(max)
        self.jitter = to_seconds(jitter)

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        """Return the jittered exponential delay."""
        extra = _uniform(0.0, self.jitter, seed)
        return min(scaled_power(self.initial, self.exp_base, attempts) + extra, self.max)


class wait_random_exponential(WaitStrategyBase):
    """Wait a random time between ``min`` and the :class:`wait_exponential` delay ("full jitter").

    Args:
        multiplier: The upper bound before the first retry.
        exp_base: The growth factor of the upper bound.
        max: The largest upper bound.
        min: The shortest delay.
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
        """Return a random delay below the exponential bound."""
        high = clamped_exponential(self.multiplier, self.exp_base, attempts, self.min, self.max)
        return _uniform(self.min, high, seed)


def wait_full_jitter(
    multiplier: int | float = 1.0,
    exp_base: int | float = 2.0,
    max: time_unit_type = 60.0,
    min: time_unit_type = 0.0,
) -> wait_random_exponential:
    """Build a :class:`wait_random_exponential` (the name used in the "full jitter" literature).

    Args:
        multiplier: The upper bound before the first retry.
        exp_base: The growth factor of the upper bound.
        max: The largest upper bound.
        min: The shortest delay.

    Returns:
        The equivalent ``wait_random_exponential``.
    """
    return wait_random_exponential(multiplier=multiplier, exp_base=exp_base, max=max, min=min)
