"""Checks of a workflow class's named limits, made when the class is defined.

Example:
    >>> from stepwork import Limit, StartEvent, StopEvent, Workflow, step
    >>> class Calls(Workflow):
    ...     limits = {"openai": Limit(concurrency=10)}
    ...
    ...     @step(limit="openai")
    ...     async def ask(self, ev: StartEvent) -> StopEvent:
    ...         return StopEvent()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stepwork._core.errors import WorkflowValidationError
from stepwork._core.limits import Limit
from stepwork._definition.decorators import StepConfig

__all__ = ["check_limits"]


def check_limits(workflow: str, limits: object, configs: Iterable[StepConfig]) -> None:
    """Check that ``limits`` maps names to ``Limit``s and every step's ``limit`` is one of them.

    Raises:
        WorkflowValidationError: Naming the step and the limit it asks for, and the limits
            declared, or the entry of ``limits`` that is not a ``Limit``.
    """
    if not isinstance(limits, Mapping):
        raise WorkflowValidationError(
            f"{workflow}.limits must be a dict of names to stepwork.Limit, got "
            f"{type(limits).__name__}."
        )
    for name, value in limits.items():
        if not isinstance(name, str) or not name or ":" in name or not isinstance(value, Limit):
            raise WorkflowValidationError(
                f"{workflow}.limits[{name!r}] must map a non-empty name without ':' to a "
                f"stepwork.Limit, got {type(value).__name__}."
            )
    for config in configs:
        if config.limit is not None and config.limit not in limits:
            declared = ", ".join(sorted(limits)) or "none"
            raise WorkflowValidationError(
                f"Step '{config.name}' of {workflow} uses limit {config.limit!r}, which "
                f"{workflow}.limits does not declare (declared: {declared}). Add it, e.g. "
                f"limits = {{{config.limit!r}: Limit(concurrency=10)}}, or fix the name.",
                step_name=config.name,
            )
