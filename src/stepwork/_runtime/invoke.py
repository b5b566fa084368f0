"""Calling one step: build its arguments, run it (sync steps in a worker thread), check its result.

Everything that can be decided once per step (parameter names, whether it takes ``self``, sync
or async) is decided when the invoker is built, so an invocation costs a few dict writes.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from stepwork._core.errors import WorkflowRuntimeError
from stepwork._core.events import Event
from stepwork._core.state import Invocation
from stepwork._definition.decorators import StepConfig

if TYPE_CHECKING:
    from stepwork._core.retry import RetryPolicy
    from stepwork._runtime.driver import RunDriver

__all__ = ["StepInvoker"]


class StepInvoker:
    """Knows how to call one step with an invocation's payload."""

    __slots__ = (
        "_collect",
        "_context",
        "_event",
        "_fan_out",
        "_func",
        "_is_async",
        "_join",
        "_limit",
        "_name",
        "_resources",
        "_takes_self",
        "retry_policy",
        "timeout",
    )

    def __init__(self, config: StepConfig) -> None:
        parsed = config.parsed
        self._name = config.name
        self._func = config.func
        self._is_async = config.is_async
        self._takes_self = parsed.takes_self
        self._context = parsed.context_param
        self._resources = parsed.resources
        self._collect = parsed.collect[0] if parsed.collect is not None else None
        self._join = len(parsed.event_params) > 1
        self._event = parsed.event_params[0][0] if len(parsed.event_params) == 1 else None
        self._fan_out = bool(parsed.fan_out)
        self.retry_policy: RetryPolicy | None = config.retry_policy
        self.timeout = config.timeout
        self._limit = config.limit

    def call(self, driver: RunDriver, invocation: Invocation) -> Awaitable[Any]:
        """What to await to run the step for ``invocation``: its result is what the step
        returned (holding a slot of its limit, if it has one, and keeping its timeout from
        then on).

        An async step without limit or resources is called right here, so awaiting the step
        itself is all an attempt costs; its arguments are bound now, and a binding error
        raises now.
        """
        if self._limit is not None:
            from stepwork._runtime.limiter import run_limited

            return run_limited(
                driver, invocation, self._limit, self.timeout, lambda: self._run(driver, invocation)
            )
        if self._resources or not self._is_async:
            return self._run(driver, invocation)
        kwargs = self._arguments(driver, invocation)
        if self._takes_self:
            return self._func(driver.workflow, **kwargs)  # type: ignore[no-any-return]
        return self._func(**kwargs)  # type: ignore[no-any-return]

    def _arguments(self, driver: RunDriver, invocation: Invocation) -> dict[str, Any]:
        payload = invocation.delivery.payload
        kwargs: dict[str, Any] = {}
        if self._event is not None:
            kwargs[self._event] = payload
        elif self._join:
            kwargs.update(payload)
        elif self._collect is not None:
            kwargs[self._collect] = payload
        if self._context is not None:
            kwargs[self._context] = driver.context
        return kwargs

    async def _run(self, driver: RunDriver, invocation: Invocation) -> Any:
        kwargs = self._arguments(driver, invocation)
        if self._resources:
            from stepwork._runtime.resources import resolve_all

            kwargs.update(await resolve_all(driver.workflow.resource_manager, self._resources))
        func = self._func
        if self._is_async:
            if self._takes_self:
                return await func(driver.workflow, **kwargs)
            return await func(**kwargs)
        if self._takes_self:
            func = functools.partial(func, driver.workflow)
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(context.run, func, **kwargs)
        )

    def check_result(self, result: Any) -> WorkflowRuntimeError | None:
        """``None`` when ``result`` is something a step may return, else the error to fail with."""
        if result is None or isinstance(result, Event):
            return None
        if isinstance(result, list) and self._fan_out:
            bad = [item for item in result if not isinstance(item, Event)]
            if not bad:
                return None
            return WorkflowRuntimeError(
                f"Step function {self._name} returned a list containing "
                f"{type(bad[0]).__name__}; every item of a fan-out list must be an Event.",
                step_name=self._name,
            )
        return WorkflowRuntimeError(
            f"Step function {self._name} returned {type(result).__name__} instead of an Event "
            "instance. Return an Event, a list of events (with a -> list[E] annotation), or None.",
            step_name=self._name,
        )
