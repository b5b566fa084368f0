"""What a failed step invocation becomes: a ``TickStepFailed`` carrying the retry decision.

The retry policy is asked here, once, by the driver; its answer is journaled with the tick, so
a replay never calls it again (and needs no seed to see the same delays).
"""

from __future__ import annotations

import random

from stepwork._core.errors import StateSerializationError
from stepwork._core.limits import retry_after_delay, retry_after_of
from stepwork._core.retry import RetryPolicy, compute_retry_delay
from stepwork._core.state import Invocation
from stepwork._core.ticks import TickStepFailed
from stepwork._runtime.tracebacks import format_traceback

__all__ = ["failure_tick", "returned_unjournalable"]

# Seeds come from the OS, not the ``random`` module's shared generator: a library must not
# advance the application's random stream (hypothesis, for one, fails a test whose strategies
# see it move), and the delays drawn are journaled, so nothing needs to replay them.
_SEEDS = random.SystemRandom()


def failure_tick(
    invocation: Invocation, error: BaseException, policy: RetryPolicy | None, now: float
) -> TickStepFailed:
    """The tick for ``invocation`` failing with ``error`` at ``now``, under retry ``policy``.

    An error asking to wait (``stepwork.RetryAfter``, or any carrying ``retry_after`` or an
    HTTP ``Retry-After`` header) delays a retry the policy grants to at least that long, plus
    jitter; it does not grant one the policy refuses.

    A policy that itself raises makes the failure fatal (the policy's error, caused by the
    step's, fails the run without retries or error handlers).
    """
    delivery = invocation.delivery
    delay = None
    fatal = False
    if policy is not None and isinstance(error, Exception):
        try:
            delay = compute_retry_delay(
                policy,
                elapsed=now - (delivery.first_attempt_at or now),
                attempts=delivery.attempts + 1,
                error=error,
                # A fresh seed per failure: each attempt and each invocation draws its own
                # jittered delay. The delay is journaled with the tick, so replay needs no seed.
                seed=_SEEDS.getrandbits(32),
            )
        except Exception as policy_error:
            policy_error.__cause__ = error
            error, fatal = policy_error, True
        wait = retry_after_of(error) if delay is not None else None
        if delay is not None and wait is not None:
            # Never earlier than asked, plus jitter drawn per failure: no fleet-wide lockstep.
            jitter = getattr(error, "jitter", None)
            jitter = jitter if isinstance(jitter, int | float) else max(0.1, wait * 0.1)
            delay = retry_after_delay(delay, wait, jitter, _SEEDS.random())
    return TickStepFailed(
        now, invocation.id, error, delay, fatal, delivery.step, format_traceback(error)
    )


def returned_unjournalable(
    invocation: Invocation, error: StateSerializationError, run_id: str
) -> StateSerializationError:
    """The error a step fails with when what it returned cannot be written to the journal."""
    step_name = invocation.delivery.step
    named = StateSerializationError(
        f"Step {step_name!r} returned what the journal cannot hold: {error}",
        run_id=run_id,
        step_name=step_name,
    )
    named.__cause__ = error
    return named
