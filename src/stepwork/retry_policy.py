"""Retry policies for steps: which errors to retry, how long to wait, and when to give up.

The names and behaviour match ``workflows.retry_policy`` of LlamaIndex Workflows, so
``from workflows.retry_policy import ...`` ports by changing the package name::

    from stepwork.retry_policy import (
        retry_if_exception_type, retry_policy, stop_after_attempt, wait_exponential_jitter,
    )

    policy = retry_policy(
        retry=retry_if_exception_type(TimeoutError),
        wait=wait_exponential_jitter(initial=1, max=30),
        stop=stop_after_attempt(5),
    )
"""

from stepwork._core.retry import (
    ConstantDelayRetryPolicy,
    ExponentialBackoffRetryPolicy,
    RetryInfo,
    RetryPolicy,
    retry_policy,
)
from stepwork._core.retry_conditions import (
    RetryCondition,
    retry_all,
    retry_always,
    retry_any,
    retry_if_exception,
    retry_if_exception_cause_type,
    retry_if_exception_message,
    retry_if_exception_type,
    retry_if_not_exception_message,
    retry_if_not_exception_type,
    retry_never,
    retry_unless_exception_type,
)
from stepwork._core.retry_jitter import (
    wait_exponential_jitter,
    wait_full_jitter,
    wait_random,
    wait_random_exponential,
)
from stepwork._core.retry_stops import (
    StopCondition,
    stop_after_attempt,
    stop_after_delay,
    stop_all,
    stop_any,
    stop_before_delay,
    stop_never,
)
from stepwork._core.retry_waits import (
    WaitStrategy,
    time_unit_type,
    wait_chain,
    wait_combine,
    wait_exponential,
    wait_fixed,
    wait_incrementing,
    wait_none,
)

__all__ = [
    "ConstantDelayRetryPolicy",
    "ExponentialBackoffRetryPolicy",
    "RetryCondition",
    "RetryInfo",
    "RetryPolicy",
    "StopCondition",
    "WaitStrategy",
    "retry_all",
    "retry_always",
    "retry_any",
    "retry_if_exception",
    "retry_if_exception_cause_type",
    "retry_if_exception_message",
    "retry_if_exception_type",
    "retry_if_not_exception_message",
    "retry_if_not_exception_type",
    "retry_never",
    "retry_policy",
    "retry_unless_exception_type",
    "stop_after_attempt",
    "stop_after_delay",
    "stop_all",
    "stop_any",
    "stop_before_delay",
    "stop_never",
    "time_unit_type",
    "wait_chain",
    "wait_combine",
    "wait_exponential",
    "wait_exponential_jitter",
    "wait_fixed",
    "wait_full_jitter",
    "wait_incrementing",
    "wait_none",
    "wait_random",
    "wait_random_exponential",
]
