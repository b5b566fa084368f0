"""LlamaIndex Workflows' private ``Workflow`` names, kept for test suites ported from it.

Test suites written for LlamaIndex Workflows call or patch a handful of its private names
(``_validate``, ``_get_steps``, ``_get_start_event_instance``, ``_start_event_class``,
``_validation_result``, ``_validated_version``, ``_step_functions``,
``_step_functions_version``). :class:`AnchorPrivateNames` answers them from stepwork's own
definition machinery, so a ported suite exercises stepwork, not a stand-in. New code should use
the public API instead: ``validate()``, ``check()``, ``start_event_class``, ``run(...)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from stepwork._core.errors import WorkflowConfigurationError
from stepwork._core.events import StartEvent
from stepwork._definition.decorators import StepConfig, step_config

__all__ = ["AnchorPrivateNames"]

_log = logging.getLogger("stepwork")
_T = TypeVar("_T")


class _ClassValue(Generic[_T]):
    """A read-only attribute computed from the class, readable on the class and its instances."""

    def __init__(self, compute: Callable[[type[Any]], _T]) -> None:
        self._compute = compute

    def __get__(self, obj: object, owner: type[Any]) -> _T:
        return self._compute(owner)


def _added_steps(cls: type[Any]) -> dict[str, Callable[..., Any]]:
    return dict(cls._added_steps)


def _version(cls: type[Any]) -> int:
    version: int = cls._version
    return version


class AnchorPrivateNames:
    """Mixin of ``Workflow``: LlamaIndex Workflows' private names, answered by stepwork.

    Attributes:
        _step_functions: The free functions added with ``@step(workflow=...)``, by name.
        _step_functions_version: Bumped each time a step is added to the class.
        _validation_result: The definition the latest ``run()`` or ``_validate()`` was
            checked against; ``None`` before the first (stepwork checks the graph at
            construction too, so a run re-checks only after ``add_step``).
    """

    _step_functions = _ClassValue(_added_steps)
    _step_functions_version = _ClassValue(_version)
    _validation_result: Any = None
    _start_event_override: type[StartEvent] | None = None

    if TYPE_CHECKING:  # what the mixin reads of ``Workflow``, the one class it is mixed into
        _disable_validation: bool
        _validated_version: int
        _skips: frozenset[str]
        _version: ClassVar[int]

        @classmethod
        def _step_configs(cls) -> dict[str, StepConfig]: ...

        @property
        def start_event_class(self) -> type[StartEvent]: ...

        def _start_event(
            self,
            start_event: StartEvent | None,
            kwargs: dict[str, Any],
            expected: type[StartEvent] | None = None,
        ) -> StartEvent: ...

    def _get_steps(self) -> dict[str, Callable[..., Any]]:
        """Every step function of this workflow by name; each carries its ``_step_config``."""
        return {name: config.func for name, config in self._step_configs().items()}

    def _validate(self) -> bool:
        """Check the steps ``_get_steps()`` returns, as ``validate()`` does (tests patch it).

        The outcome is kept in ``_validation_result`` until a step is added, as a run's is.

        Returns:
            True when the workflow asks people for input; False when validation is disabled.

        Raises:
            WorkflowConfigurationError: No steps, or no or several start/stop event types.
            WorkflowValidationError: The graph has problems; the message lists each.
        """
        if self._disable_validation:
            return False
        cached = self._validation_result
        if cached is not None and self._validated_version == type(self)._version:
            uses_human_input: bool = cached.uses_human_input
            return uses_human_input
        from stepwork._runtime.definition import build_definition

        name = type(self).__name__
        steps = self._get_steps()
        if not steps:
            raise WorkflowConfigurationError(
                f"Workflow '{name}' has no configured steps. Did you forget to decorate "
                "methods with @step?"
            )
        configs: dict[str, StepConfig] = {}
        for step_name, func in steps.items():
            config = step_config(func)
            if config is None:
                raise WorkflowConfigurationError(
                    f"Step function {step_name} is missing the @step decorator."
                )
            configs[step_name] = config
        definition = build_definition(name, configs, self._skips)
        definition.raise_for_problems()
        self._validation_result = definition
        self._validated_version = type(self)._version
        return definition.uses_human_input

    @property
    def _start_event_class(self) -> type[StartEvent]:
        """The start event type; assignable, as LlamaIndex Workflows' tests do."""
        override = self._start_event_override
        return override if override is not None else self.start_event_class

    @_start_event_class.setter
    def _start_event_class(self, value: type[StartEvent]) -> None:
        self._start_event_override = value

    def _get_start_event_instance(
        self, start_event: StartEvent | None, **kwargs: Any
    ) -> StartEvent:
        """The start event ``run(start_event, **kwargs)`` starts from.

        Unlike ``run()``, which refuses both at once, keyword arguments given with a
        ``start_event`` are logged as ignored, as LlamaIndex Workflows does.

        Raises:
            StartEventError: The event has the wrong type or the keyword arguments do not
                build one.
        """
        if start_event is not None and kwargs:
            _log.warning(
                "Keyword arguments are not supported when 'run()' is invoked with the "
                "'start_event' parameter. These keyword arguments will be ignored: %s",
                kwargs,
            )
            kwargs = {}
        return self._start_event(start_event, kwargs, self._start_event_class)
