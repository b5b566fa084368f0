"""Retry policies: after a step fails, retry it after how long, or give up?

A policy answers ``next(elapsed_time, attempts, error, seed=...)`` with a delay in seconds or
``None`` to give up. :func:`retry_policy` builds one from three parts: a retry condition (is this
error worth retrying?), a wait strategy (how long to sleep) and a stop condition (is the budget
spent?). The parts live in ``retry_conditions``, ``retry_waits`` and ``retry_stops``.

Invariants:
    * ``attempts`` counts failures and starts at 1; wait strategies see ``attempts - 1`` (never
      below 0), so the first retry uses index 0. ``stop_after_attempt(n)`` therefore allows ``n``
      executions.
    * Policies are consulted in the order retry condition, wait, stop; stop conditions see the
      proposed delay as ``upcoming_sleep``.
    * With the same inputs and ``seed`` a policy gives the same answer. The engine draws a fresh
      seed for every failure (so parallel invocations and successive attempts spread out) and
      journals the resulting delay; a replay reads the delay and never asks the policy again.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Protocol, runtime_checkable

from stepwork._core.retry_conditions import RetryCondition
from stepwork._core.retry_jitter import wait_random_exponential
from stepwork._core.retry_stops import StopCondition, stop_after_attempt
from stepwork._core.retry_waits import WaitStrategy, wait_exponential, wait_fixed

__all__ = [
    "ConstantDelayRetryPolicy",
    "ExponentialBackoffRetryPolicy",
    "RetryInfo",
    "RetryPolicy",
    "compute_retry_delay",
    "policy_accepts_seed",
    "retry_policy",
]


@runtime_checkable
class RetryPolicy(Protocol):
    """Anything with a compatible ``next`` method can decide retries for a step.

    Policies written for older versions, whose ``next`` takes no ``seed``, are still accepted by
    the engine (see :func:`compute_retry_delay`).
    """

    def next(
        self, elapsed_time: float, attempts: int, error: Exception, *, seed: int | None = None
    ) -> float | None:
        """Decide what happens after a failure.

        Args:
            elapsed_time: Seconds since the step's first attempt started.
            attempts: Failed attempts so far, starting at 1.
            error: The error the last attempt raised.
            seed: Seed for random delays; the engine draws a new one for every failure.

        Returns:
            The delay in seconds before the next attempt, or ``None`` to give up.
        """
        ...


@dataclass(frozen=True)
class RetryInfo:
    """What a step sees about its own retries through ``ctx.retry_info()``.

    Attributes:
        retry_number: 0 on the first attempt, 1 on the first retry, and so on.
        elapsed_seconds: Seconds since the first attempt started.
        last_exception: The error of the previous attempt, if any.
        last_failed_at: When the previous attempt failed, if any.
    """

    retry_number: int
    elapsed_seconds: float
    last_exception: Exception | None
    last_failed_at: datetime | None


_DEFAULT_WAIT = wait_fixed(5)
_DEFAULT_STOP = stop_after_attempt(3)


class _ComposableRetryPolicy:
    """The policy :func:`retry_policy` builds; see there for the parameters.

    Private like LlamaIndex Workflows' class of the same name: build one with :func:`retry_policy`.
    """

    def __init__(
        self,
        retry: RetryCondition | None = None,
        wait: WaitStrategy = _DEFAULT_WAIT,
        stop: StopCondition = _DEFAULT_STOP,
    ) -> None:
        self.retry = retry
        self.wait = wait
        self.stop = stop

    def next(
        self, elapsed_time: float, attempts: int, error: Exception, *, seed: int | None = None
    ) -> float | None:
        """Return the delay before the next attempt, or ``None`` to give up.

        Args:
            elapsed_time: Seconds since the step's first attempt started.
            attempts: Failed attempts so far, starting at 1.
            error: The error the last attempt raised.
            seed: Seed handed to the wait strategy.
        """
        if self.retry is not None and not self.retry(error):
            return None
        # An out-of-contract ``attempts`` below 1 still gets the first retry's delay.
        delay = self.wait(max(attempts - 1, 0), seed=seed)
        if self.stop(attempts, elapsed_time, upcoming_sleep=delay):
            return None
        return delay


def retry_policy(
    retry: RetryCondition | None = None,
    wait: WaitStrategy = _DEFAULT_WAIT,
    stop: StopCondition = _DEFAULT_STOP,
) -> RetryPolicy:
    """Build a retry policy from a retry condition, a wait strategy and a stop condition.

    Args:
        retry: Which errors to retry; ``None`` retries every error.
        wait: How long to sleep before each retry; receives the 0-based retry index.
        stop: When to give up; receives the failed attempts, elapsed seconds and the upcoming
            sleep.

    Returns:
        A policy to pass as ``@step(retry_policy=...)``.

    Example:
        Retry timeouts up to four runs in total, doubling the delay from one second:

        >>> from stepwork.retry_policy import (
        ...     retry_if_exception_type, stop_after_attempt, wait_exponential
        ... )
        >>> policy = retry_policy(
        ...     retry=retry_if_exception_type(TimeoutError),
        ...     wait=wait_exponential(multiplier=1, max=10),
        ...     stop=stop_after_attempt(4),
        ... )
        >>> [policy.next(0.0, attempts, TimeoutError()) for attempts in (1, 2, 3, 4)]
        [1.0, 2.0, 4.0, None]
        >>> policy.next(0.0, 1, KeyError("not retried")) is None
        True
    """
    return _ComposableRetryPolicy(retry=retry, wait=wait, stop=stop)


# The two deprecated factories keep the class-style names they had when they were classes.
def ConstantDelayRetryPolicy(maximum_attempts: int = 3, delay: float = 5) -> RetryPolicy:
    """Deprecated: use ``retry_policy(wait=wait_fixed(delay), stop=stop_after_attempt(n))``.

    Args:
        maximum_attempts: Executions in total, the first one included.
        delay: Seconds between attempts.

    Returns:
        The equivalent :func:`retry_policy`.
    """
    warnings.warn(
        "ConstantDelayRetryPolicy is deprecated, use "
        "retry_policy(wait=wait_fixed(delay), stop=stop_after_attempt(n)) instead",
        DeprecationWarning,
        stacklevel=2,
    )
    return retry_policy(wait=wait_fixed(delay), stop=stop_after_attempt(maximum_attempts))


def ExponentialBackoffRetryPolicy(
    maximum_attempts: int = 5,
    initial_delay: float = 1.0,
    multiplier: float = 2.0,
    max_delay: float = 60.0,
    jitter: bool = True,
) -> RetryPolicy:
    """Deprecated: use ``retry_policy(wait=wait_exponential(...), stop=stop_after_attempt(n))``.

    Args:
        maximum_attempts: Executions in total, the first one included.
        initial_delay: The delay before the first retry (its upper bound with jitter).
        multiplier: The growth factor between retries.
        max_delay: The longest delay.
        jitter: Draw each delay uniformly between 0 and the exponential delay ("full jitter").

    Returns:
        The equivalent :func:`retry_policy`.
    """
    warnings.warn(
        "ExponentialBackoffRetryPolicy is deprecated, use "
        "retry_policy(wait=wait_exponential(...), stop=stop_after_attempt(n)) instead",
        DeprecationWarning,
        stacklevel=2,
    )
    wait_class = wait_random_exponential if jitter else wait_exponential
    wait = wait_class(multiplier=initial_delay, exp_base=multiplier, max=max_delay)
    return retry_policy(wait=wait, stop=stop_after_attempt(maximum_attempts))


def policy_accepts_seed(policy: RetryPolicy) -> bool:
    """Tell whether ``policy.next`` takes a ``seed`` keyword.

    Decided from the signature, never by calling the method, so a ``TypeError`` raised inside a
    user's policy cannot be mistaken for an old signature.

    Args:
        policy: The policy to examine.

    Returns:
        ``True`` if ``seed=`` can be passed, or if the signature cannot be read.
    """
    method = policy.next
    target = getattr(method, "__func__", method)
    try:
        return _accepts_seed_cached(target)
    except TypeError:  # an unhashable callable cannot be cached; examine it afresh
        return _accepts_seed(method)


@lru_cache(maxsize=256)
def _accepts_seed_cached(function: Callable[..., object]) -> bool:
    return _accepts_seed(function)


def _accepts_seed(function: Callable[..., object]) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        # Builtins and some C callables hide their signature; assume the current protocol.
        return True
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return True
        if parameter.name == "seed" and parameter.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        ):
            return True
    return False


def compute_retry_delay(
    policy: RetryPolicy, *, elapsed: float, attempts: int, error: Exception, seed: int | None
) -> float | None:
    """Ask a policy what to do after a failure, tolerating policies that predate ``seed``.

    Args:
        policy: The step's retry policy.
        elapsed: Seconds since the step's first attempt started.
        attempts: Failed attempts so far, starting at 1.
        error: The error the last attempt raised.
        seed: Seed for random delays; dropped for a ``next`` that does not accept it.

    Returns:
        The delay in seconds (never negative) before the next attempt, or ``None`` to give up.

    Example:
        >>> compute_retry_delay(
        ...     retry_policy(), elapsed=0.0, attempts=1, error=ValueError(), seed=7
        ... )
        5.0
    """
    if policy_accepts_seed(policy):
        delay = policy.next(elapsed, attempts, error, seed=seed)
    else:
        delay = policy.next(elapsed, attempts, error)
    if delay is None:
        return None
    # A negative delay means "now"; the engine schedules wake-ups and needs a time not in the past.
    return max(0.0, float(delay))
