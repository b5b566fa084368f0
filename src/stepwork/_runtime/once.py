"""``ctx.once``: call a function once per step delivery, journaling its outcome.

A call is numbered by its place among the invocation's journaled calls. When the step runs
again (after a crash, a takeover or a snapshot restore: the same delivery), a call whose
outcome is journaled returns it, or raises the journaled error, without calling the function;
the first call without one runs for real. A call whose name differs from the one journaled
at its place fails the step with ``JournaledCallMismatchError``.

The outcome is written before ``ctx.once`` returns (with a store, once the tick is stored),
so whatever the step does next happens after the call is durable. A call that was running
when the process died ran without a journaled outcome, and runs again: at least once, and
exactly once from the first journaled outcome on.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, overload

from stepwork._core.errors import ContextStateError, JournalWriteError
from stepwork._core.journaled_calls import journaled_outcome
from stepwork._core.ticks import TickOnce
from stepwork._runtime.call_outcomes import (
    check_same_call,
    error_outcome,
    outcome_result,
    value_outcome,
)
from stepwork._runtime.snapshot import registry_for
from stepwork._runtime.step_scope import StepScope, current_scope

if TYPE_CHECKING:
    from stepwork._core.state import Invocation
    from stepwork._runtime.driver import RunDriver
    from stepwork._runtime.snapshot import SnapshotWorkflow

__all__ = ["CallSite", "journaled_call", "once", "record_outcome"]

P = ParamSpec("P")
R = TypeVar("R")


class CallSite:
    """The step a journaled call is made from, and the call's number within it.

    Raises:
        ContextStateError: If made outside a running step (names ``what``).
    """

    __slots__ = ("driver", "invocation", "number")

    def __init__(self, what: str) -> None:
        scope: StepScope | None = current_scope()
        if scope is None or scope.value is None:
            raise ContextStateError(
                f"{what} is only available from within a step function (await it in the "
                "step, or in a helper the step awaits)."
            )
        self.driver: RunDriver = scope.value[0]
        self.invocation: Invocation = scope.value[1]
        self.number = scope.next_call()

    @property
    def step(self) -> str:
        """The calling step's name."""
        return self.invocation.delivery.step

    @property
    def step_key(self) -> str:
        """The calling delivery's ``ctx.step_key``."""
        return f"{self.driver.run_id}:{self.step}:{self.invocation.delivery.key}"

    def journaled(self, name: str) -> dict[str, Any] | None:
        """The outcome journaled at this call's place, checked against ``name``.

        Raises:
            JournaledCallMismatchError: If another call is journaled at this place.
        """
        found = journaled_outcome(self.driver.state, self.invocation.delivery.key, self.number)
        if found is None:
            return None
        check_same_call(
            found[0],
            name,
            self.number,
            run_id=self.driver.run_id,
            step=self.step,
            key=self.step_key,
        )
        outcome: dict[str, Any] = found[1]
        return outcome

    def result(self, outcome: dict[str, Any]) -> Any:
        """The value ``outcome`` holds, or raise its error."""
        registry = registry_for(cast("SnapshotWorkflow", self.driver.workflow))
        return outcome_result(outcome, registry, run_id=self.driver.run_id, step=self.step)


async def record_outcome(site: CallSite, name: str, outcome: dict[str, Any]) -> None:
    """Journal ``outcome`` for ``site`` and wait until it is stored (with a store).

    Raises:
        JournalWriteError: If the tick could not be stored.
    """
    driver = site.driver
    driver.apply(TickOnce(driver.now(), site.invocation.id, site.number, name, outcome))
    journal = driver.journal
    if journal is None:
        return
    count = journal.staged
    await journal.written(count)
    if journal.next_seq < count:
        error = JournalWriteError(
            f"Run '{driver.run_id}': the outcome of journaled call {name!r} was not stored, so "
            f"the step cannot go on as if it were: {journal.failure}",
            run_id=driver.run_id,
            step_name=site.step,
        )
        error.__cause__ = journal.failure
        raise error


async def journaled_call(
    name: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Call ``fn(*args, **kwargs)`` once per delivery of the running step (see the module).

    Raises:
        ContextStateError: Outside a step.
        JournaledCallMismatchError: If the journal holds another call at this place.
        JournaledResultTooLargeError: If the result is too large to journal.
        StateSerializationError: If the result cannot be written as JSON.
        BaseException: Whatever ``fn`` raised (journaled, and re-raised on a re-run).
    """
    if not isinstance(name, str) or not name:
        raise ContextStateError(f"ctx.once needs a non-empty name string, got {name!r}.")
    site = CallSite("ctx.once")
    journaled = site.journaled(name)
    if journaled is not None:
        return site.result(journaled)
    try:
        if _is_async(fn):
            result = await fn(*args, **kwargs)
        else:
            result = await asyncio.to_thread(fn, *args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
    except Exception as error:
        await record_outcome(site, name, error_outcome(error))
        raise
    outcome = value_outcome(name, result, run_id=site.driver.run_id, step=site.step)
    await record_outcome(site, name, outcome)
    return result


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


@overload
def once(name: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]: ...


@overload
def once(name: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]: ...


def once(name: Any) -> Any:
    """Make an async helper a journaled call whenever a step awaits it.

    Inside a step, ``await helper(...)`` is ``await ctx.once(name, helper, ...)``: its outcome
    is journaled under the step's delivery and returned without calling it again when the step
    re-runs. Outside a step the helper is simply called.

    Args:
        name: The call's name in the journal; or the function itself (``@once``), named by
            its qualified name.

    Example:
        >>> @once("llm")
        ... async def complete(prompt: str) -> str:
        ...     return prompt.upper()
        >>> asyncio.run(complete("hi"))   # outside a step: a plain call
        'HI'
    """
    if callable(name):
        decorator: Callable[[Any], Any] = once(str(name.__qualname__))
        return decorator(name)

    def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(fn)
        async def journaled(*args: P.args, **kwargs: P.kwargs) -> R:
            if current_scope() is None:
                return await fn(*args, **kwargs)
            result: R = await journaled_call(name, fn, args, kwargs)
            return result

        return journaled

    return decorate
