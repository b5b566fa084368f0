"""``@step`` and ``@catch_error``: turn functions into workflow steps, checked at decoration.

Example:
    >>> from stepwork import StartEvent, StopEvent, Workflow, step
    >>> class Echo(Workflow):
    ...     @step(num_workers=2)
    ...     async def echo(self, ev: StartEvent) -> StopEvent:
    ...         return StopEvent(result=ev.get("text"))
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from stepwork._core.errors import WorkflowValidationError
from stepwork._core.specs import CollectSpec, StepSpec
from stepwork._definition.resources import ResourceDefinition
from stepwork._definition.signature import ParsedSignature, parse_signature, resolve_hints

if TYPE_CHECKING:
    from stepwork._core.retry import RetryPolicy

__all__ = ["StepConfig", "catch_error", "step", "step_config"]

F = TypeVar("F", bound=Callable[..., Any])
_GRAPH_CHECKS = ("reachability", "dead_end")


@dataclass
class StepConfig:
    """Everything ``@step`` learned about a function; attached to it as ``_step_config``."""

    func: Callable[..., Any]
    is_method: bool
    num_workers: int = 4
    retry_policy: RetryPolicy | None = None
    timeout: float | None = None
    limit: str | None = None
    accept_event_subclasses: bool = False
    skip_graph_checks: tuple[str, ...] = ()
    catch_error: bool = False
    catch_for: tuple[str, ...] | None = None
    max_recoveries: int = 1
    localns: dict[str, Any] = field(default_factory=dict)
    _parsed: ParsedSignature | None = None

    @property
    def name(self) -> str:
        """The step's name: its function's name."""
        return self.func.__name__

    @property
    def is_async(self) -> bool:
        """True for ``async def`` steps; others run in a worker thread."""
        return inspect.iscoroutinefunction(self.func)

    @property
    def parsed(self) -> ParsedSignature:
        """The parsed signature, resolving postponed annotations on first use.

        Raises:
            WorkflowValidationError: If the signature is not one a step may have.
        """
        if self._parsed is None:
            hints = resolve_hints(self.func, self.localns)
            self._parsed = parse_signature(self.func, hints, is_method=self.is_method)
            self.localns = {}
        return self._parsed

    @property
    def catch_error_max_recoveries(self) -> int:
        """``max_recoveries`` under LlamaIndex Workflows' name (assignable, as its tests do)."""
        return self.max_recoveries

    @catch_error_max_recoveries.setter
    def catch_error_max_recoveries(self, value: int) -> None:
        self.max_recoveries = value

    @property
    def accepted_events(self) -> list[type]:
        """The event types the step accepts (LlamaIndex Workflows' name for them)."""
        return [t for _, types in self.parsed.event_params for t in types]

    @property
    def event_name(self) -> str | None:
        """The name of the step's (first) event parameter."""
        params = self.parsed.event_params
        return params[0][0] if params else None

    @property
    def resources(self) -> list[ResourceDefinition]:
        """The step's injected parameters: name, descriptor, and ``T`` of ``Annotated[T, ...]``."""
        parsed = self.parsed
        return [
            ResourceDefinition(
                name=name, resource=descriptor, type_annotation=parsed.resource_types.get(name)
            )
            for name, descriptor in parsed.resources.items()
        ]

    @property
    def return_types(self) -> list[type]:
        """The event types the step's return annotation names."""
        return list(self.parsed.returns)

    def spec(self) -> StepSpec:
        """The core's view of this step."""
        parsed = self.parsed
        collect = None
        if parsed.collect is not None:
            param, types, take = parsed.collect
            collect = CollectSpec(param, types, take)
        slots = (
            tuple((n, t[0]) for n, t in parsed.event_params) if len(parsed.event_params) > 1 else ()
        )
        accepted = parsed.event_params[0][1] if len(parsed.event_params) == 1 else ()
        return StepSpec(
            name=self.name,
            accepted=accepted,
            slots=slots,
            collect=collect,
            returns=parsed.returns,
            fan_out=parsed.fan_out,
            num_workers=self.num_workers,
            accept_subclasses=self.accept_event_subclasses,
            # A limited step's time limit starts once it holds a slot: the invoker keeps it.
            timeout=self.timeout if self.limit is None else None,
            catch_error=self.catch_error,
            catch_for=self.catch_for,
            max_recoveries=self.max_recoveries,
        )


def step_config(func: object) -> StepConfig | None:
    """The ``StepConfig`` attached to ``func`` by ``@step``, or ``None``."""
    config = getattr(func, "_step_config", None)
    return config if isinstance(config, StepConfig) else None


@overload
def step(func: F) -> F: ...


@overload
def step(
    func: None = None,
    *,
    workflow: type[Any] | None = None,
    num_workers: int = 4,
    retry_policy: RetryPolicy | None = None,
    timeout: float | None = None,
    skip_graph_checks: list[str] | None = None,
    accept_event_subclasses: bool = False,
    limit: str | None = None,
) -> Callable[[F], F]: ...


def step(
    func: F | None = None,
    *,
    workflow: type[Any] | None = None,
    num_workers: int = 4,
    retry_policy: RetryPolicy | None = None,
    timeout: float | None = None,
    skip_graph_checks: list[str] | None = None,
    accept_event_subclasses: bool = False,
    limit: str | None = None,
) -> F | Callable[[F], F]:
    """Mark a function as a workflow step; use bare (``@step``) or with options.

    Args:
        func: The step function (when used bare).
        workflow: For a free function, the workflow class it is added to.
        num_workers: Most concurrent invocations of this step within one run (>= 1).
        retry_policy: How to retry a failing invocation (see ``stepwork.retry_policy``).
        timeout: Time limit in seconds for one invocation; ``None`` for none.
        skip_graph_checks: Graph checks to skip for this step: ``reachability``, ``dead_end``.
        accept_event_subclasses: Also receive subclasses of the accepted event types.
        limit: The name of a ``stepwork.Limit`` declared in the workflow's ``limits``: each
            invocation attempt holds one of its slots while it runs (it waits for one first,
            and its ``timeout`` counts from then).

    Returns:
        The function itself, carrying its ``_step_config``.

    Raises:
        WorkflowValidationError: If an option or the signature is invalid, or a free function
            is given no ``workflow``.
    """
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise WorkflowValidationError(
            f"num_workers must be an integer greater than 0, got {num_workers!r}."
        )
    if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
        raise WorkflowValidationError(
            f"timeout must be a positive number of seconds or None, got {timeout!r}."
        )
    if limit is not None and (not isinstance(limit, str) or not limit):
        raise WorkflowValidationError(
            f"limit must name a Limit declared in the workflow's limits, got {limit!r}."
        )
    skips = tuple(skip_graph_checks or ())
    unknown = [name for name in skips if name not in _GRAPH_CHECKS]
    if unknown:
        raise WorkflowValidationError(
            f"Unknown graph check names: {', '.join(unknown)}. Use {' or '.join(_GRAPH_CHECKS)}."
        )
    localns = _caller_locals()

    def decorate(target: F) -> F:
        config = StepConfig(
            func=target,
            is_method=_is_method(target) and workflow is None,
            num_workers=num_workers,
            retry_policy=retry_policy,
            timeout=timeout,
            limit=limit,
            accept_event_subclasses=accept_event_subclasses,
            skip_graph_checks=skips,
            localns=localns,
        )
        _attach(target, config, workflow)
        return target

    return decorate(func) if func is not None else decorate


def catch_error(
    func: F | None = None, *, for_steps: list[str] | None = None, max_recoveries: int = 1
) -> F | Callable[[F], F]:
    """Mark a step that recovers from other steps' failures once their retries are exhausted.

    The handler accepts a ``StepFailedEvent`` and may return any event, e.g. a ``StopEvent``.

    Args:
        func: The handler (when used bare).
        for_steps: Steps this handler covers; ``None`` covers every step without its own handler.
        max_recoveries: How many times one event lineage may be recovered (>= 1).

    Raises:
        WorkflowValidationError: If the options are invalid or the handler does not accept
            exactly ``StepFailedEvent``.
    """
    if (
        isinstance(max_recoveries, bool)
        or not isinstance(max_recoveries, int)
        or max_recoveries < 1
    ):
        raise WorkflowValidationError(
            f"max_recoveries must be an integer of at least 1, got {max_recoveries!r}."
        )
    if for_steps is not None and (
        not isinstance(for_steps, list | tuple) or not all(isinstance(s, str) for s in for_steps)
    ):
        raise WorkflowValidationError(
            f"for_steps must be None or a list of step names, got {for_steps!r}."
        )
    localns = _caller_locals()

    def decorate(target: F) -> F:
        config = StepConfig(
            func=target,
            is_method=_is_method(target),
            num_workers=1,
            catch_error=True,
            catch_for=tuple(for_steps) if for_steps is not None else None,
            max_recoveries=max_recoveries,
            localns=localns,
        )
        from stepwork._core.events import StepFailedEvent

        # The event type is checked first, as LlamaIndex Workflows does, then the attachment.
        if _parse_now(config):
            params = config.parsed.event_params
            if len(params) != 1 or params[0][1] != (StepFailedEvent,):
                raise WorkflowValidationError(
                    f"@catch_error handler '{config.name}' must accept StepFailedEvent as its "
                    "event parameter.\nAnnotate exactly one event parameter as StepFailedEvent.",
                    step_name=config.name,
                )
        _attach(target, config, None)
        return target

    return decorate(func) if func is not None else decorate


def _parse_now(config: StepConfig) -> bool:
    """Parse the signature now so its errors surface at decoration; False if a name it uses is
    not defined yet (it is parsed again when the workflow class is first used)."""
    try:
        config.parsed  # noqa: B018
    except WorkflowValidationError as error:
        if not isinstance(error.__cause__, NameError):
            raise
        return False
    return True


def _attach(target: Callable[..., Any], config: StepConfig, workflow: type[Any] | None) -> None:
    _parse_now(config)
    target._step_config = config  # type: ignore[attr-defined]
    if workflow is not None:
        workflow.add_step(target)
    elif not config.is_method:
        raise WorkflowValidationError(
            f"To decorate {target.__name__} please pass a workflow class to the @step decorator.\n"
            "Write @step(workflow=MyWorkflow) to add a free function as a step of MyWorkflow.",
            step_name=target.__name__,
        )


def _is_method(func: Callable[..., Any]) -> bool:
    qualname = func.__qualname__.rsplit("<locals>.", 1)[-1]
    return "." in qualname


def _caller_locals() -> dict[str, Any]:
    """Merge the locals of the frames calling the decorator, innermost first wins."""
    merged: dict[str, Any] = {}
    frame: FrameType | None = sys._getframe(2)
    depth = 0
    while frame is not None and depth < 6:
        for key, value in frame.f_locals.items():
            merged.setdefault(key, value)
        frame = frame.f_back
        depth += 1
    return merged
