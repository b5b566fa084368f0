"""``Workflow``: a class of ``@step`` methods, run by events.

Example:
    >>> from stepwork import StartEvent, StopEvent, Workflow, step
    >>> class Hello(Workflow):
    ...     @step
    ...     async def greet(self, ev: StartEvent) -> StopEvent:
    ...         return StopEvent(result=f"hello {ev.name}")
    >>> import asyncio
    >>> async def main() -> str:
    ...     return await Hello().run(name="ada")
    >>> asyncio.run(main())
    'hello ada'
"""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from stepwork._core.errors import (
    ContextStateError,
    WorkflowConfigurationError,
    WorkflowValidationError,
)
from stepwork._core.events import Event, StartEvent
from stepwork._core.graph import GRAPH_CHECKS, Finding
from stepwork._core.limits import Limit
from stepwork._definition.decorators import StepConfig, step_config
from stepwork._definition.limit_checks import check_limits
from stepwork._runtime.clock import Clock, SystemClock
from stepwork._runtime.context import Context
from stepwork._runtime.definition import WorkflowDefinition, build_definition
from stepwork._runtime.durable_methods import DurableMethods
from stepwork._runtime.handler import WorkflowHandler
from stepwork._runtime.launch import launch
from stepwork._runtime.private_names import AnchorPrivateNames
from stepwork._runtime.resource_checks import check_resources
from stepwork._runtime.resources import ResourceManager
from stepwork._runtime.start_events import start_event_for
from stepwork._runtime.versions import definition_version
from stepwork._stores.protocol import Store

__all__ = ["Workflow", "new_run_id"]

_ALPHABET = string.ascii_letters + string.digits
_RUN_IDS = len(_ALPHABET) ** 10


def new_run_id() -> str:
    """A fresh run id: 10 letters and digits, each of the 62**10 ids equally likely.

    One draw from ``secrets`` spelled in base 62 (four times cheaper than ten draws).

    Example:
        >>> run_id = new_run_id()
        >>> len(run_id), run_id.isalnum()
        (10, True)
    """
    number = secrets.randbelow(_RUN_IDS)
    run_id = ""
    for _ in range(10):
        number, digit = divmod(number, 62)
        run_id += _ALPHABET[digit]
    return run_id


class Workflow(DurableMethods, AnchorPrivateNames):
    """Base class of workflows: subclass it and add ``@step`` methods.

    Args:
        timeout: Seconds a run may take; ``None`` for no limit.
        disable_validation: Skip the graph checks (start/stop inference still applies).
        verbose: Print each step's start and end to standard output.
        resource_manager: Where ``Resource`` values are cached (one per workflow by default).
        num_concurrent_runs: Most runs of this instance at once; extra runs wait their turn.
        runtime: Only ``None``. LlamaIndex Workflows lets a ``Runtime`` plugin (its basic or its
            DBOS runtime) execute the runs; stepwork always runs them on its own in-process
            driver, made durable by ``store=``. Any other value raises, rather than being
            ignored. Kept in this position so positional arguments port unchanged.
        workflow_name: Name used in messages and by the server (default: module.QualName).
        skip_graph_checks: Graph checks to skip: ``reachability``, ``terminal_event``, ``dead_end``.
        serializer: The serializer this workflow's snapshots use when a call passes none (a
            ``JsonSerializer`` or ``PickleSerializer``); read back as :attr:`serializer`.
        clock: Source of time for timeouts and retries (``stepwork.testing.ManualClock`` in tests).
        store: Journal runs here so they survive a crash: a ``Store`` or a URL such as
            ``"sqlite:///runs.db"``; see ``resume`` and ``resume_all``.
        version: This workflow's version (overrides the class's ``version``); see
            :attr:`workflow_version`.

    Attributes:
        version: The declared version of the workflow's definition, recorded by every run it
            starts (``None``: a hash of the definition is recorded). A process serving
            another version does not continue those runs (``docs/scale-out.md``).
        externally_sendable: Event classes stepwork reserves (start, stop and its subclasses,
            step failures, fan-in releases) that callers outside the process, over HTTP or
            with ``stepwork.client``, may still send into this workflow's runs, each class
            exactly (not its subclasses). Empty by default: from outside, only the
            workflow's own events can be sent. In-process ``send_event`` is not limited.

    Raises:
        WorkflowConfigurationError: If no step or several accept a ``StartEvent`` type, or no
            step or several return a ``StopEvent`` type, or a ``runtime`` is given.
        WorkflowValidationError: If the graph has problems (all are listed) or an argument is
            invalid.
    """

    externally_sendable: ClassVar[tuple[type[Event], ...]] = ()
    limits: ClassVar[Mapping[str, Limit]] = {}
    """Named limits the steps may opt into with ``@step(limit=name)`` (``stepwork.Limit``)."""
    version: str | None = None
    _added_steps: ClassVar[dict[str, Callable[..., Any]]] = {}
    _cached: ClassVar[tuple[int, frozenset[str], WorkflowDefinition] | None] = None
    _version: ClassVar[int] = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._added_steps = {}
        cls._cached = None
        cls._version = 0
        check_limits(cls.__qualname__, cls.limits, cls._step_configs().values())

    def __init__(
        self,
        timeout: float | None = 45.0,
        disable_validation: bool = False,
        verbose: bool = False,
        resource_manager: ResourceManager | None = None,
        num_concurrent_runs: int | None = None,
        runtime: None = None,
        workflow_name: str | None = None,
        skip_graph_checks: set[str] | None = None,
        serializer: Any = None,
        *,
        clock: Clock | None = None,
        store: Store | str | None = None,
        version: str | None = None,
    ) -> None:
        if runtime is not None:
            raise WorkflowConfigurationError(
                f"stepwork does not take a runtime (got {type(runtime).__name__}): every run "
                "executes on stepwork's in-process driver. Drop runtime=...; to make runs "
                "survive a crash, pass store='sqlite:///runs.db' (or a Store) instead."
            )
        if num_concurrent_runs is not None and (
            isinstance(num_concurrent_runs, bool)
            or not isinstance(num_concurrent_runs, int)
            or num_concurrent_runs < 1
        ):
            raise WorkflowValidationError(
                "num_concurrent_runs must be a positive integer or None, "
                f"got {num_concurrent_runs!r}."
            )
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise WorkflowValidationError(
                f"timeout must be a positive number of seconds or None, got {timeout!r}."
            )
        skips = frozenset(skip_graph_checks or ())
        unknown = sorted(skips - set(GRAPH_CHECKS))
        if unknown:
            raise WorkflowValidationError(
                f"Unknown graph check names: {', '.join(unknown)}. "
                f"Valid: {', '.join(GRAPH_CHECKS)}."
            )
        self._timeout = timeout
        self._disable_validation = disable_validation
        self._verbose = verbose
        self._skips = skips
        self._resource_manager = resource_manager or ResourceManager()
        self._num_concurrent_runs = num_concurrent_runs
        self._slots: asyncio.Semaphore | None = None
        self._name = workflow_name
        self._serializer = serializer
        self._clock: Clock = clock or SystemClock()
        self._store: Store | None = resolve_store(store)
        if version is not None:
            self.version = version
        self._validated_version = -1
        definition = self.definition()
        if definition.config_error is not None:
            raise definition.config_error
        if not disable_validation:
            self._validate_graph()

    # -- class-level definition -----------------------------------------------------------------

    @classmethod
    def _step_configs(cls) -> dict[str, StepConfig]:
        configs: dict[str, StepConfig] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                config = step_config(value)
                if config is not None:
                    configs.pop(name, None)
                    configs[name] = config
        for func in cls._added_steps.values():
            config = step_config(func)
            assert config is not None
            configs[config.name] = config
        return configs

    @classmethod
    def definition(cls, skips: frozenset[str] = frozenset()) -> WorkflowDefinition:
        """The class's compiled steps, spec and reducer (engine-internal; cached per class).

        Args:
            skips: Graph checks to leave out of the findings.
        """
        cached = cls._cached
        if cached is not None and cached[0] == cls._version and cached[1] == skips:
            return cached[2]
        definition = build_definition(cls.__qualname__, cls._step_configs(), skips)
        cls._cached = (cls._version, skips, definition)
        return definition

    @classmethod
    def add_step(cls, func: Callable[..., Any]) -> None:
        """Add a free function decorated with ``@step(workflow=cls)`` as a step of ``cls``.

        Raises:
            WorkflowValidationError: If ``func`` is not a step, or a step of that name exists.
        """
        config = step_config(func)
        if config is None:
            name = getattr(func, "__name__", func)
            raise WorkflowValidationError(
                f"Step function {name} is missing the `@step` decorator.\n"
                f"{name!r} is not a step: decorate it with @step first."
            )
        if config.name in cls._step_configs():
            raise WorkflowValidationError(
                f"A step {config.name} is already part of this workflow, please choose another "
                f"name.\nA step named '{config.name}' already exists on {cls.__qualname__}; "
                "rename it.",
                step_name=config.name,
            )
        check_limits(cls.__qualname__, cls.limits, [config])
        cls._added_steps[config.name] = func
        cls._version += 1

    @classmethod
    def check(cls) -> list[Finding]:
        """Every configuration and graph problem of this workflow class, without raising."""
        definition = cls.definition()
        findings = list(definition.findings)
        if definition.config_error is not None:
            findings.insert(
                0, Finding("configuration", None, None, str(definition.config_error), "")
            )
        return findings

    # -- properties -----------------------------------------------------------------------------

    @property
    def serializer(self) -> Any:
        """The serializer given at construction (``None`` by default)."""
        return self._serializer

    @property
    def workflow_name(self) -> str:
        """The name given at construction, else ``module.QualName`` of the class."""
        return self._name or f"{type(self).__module__}.{type(self).__qualname__}"

    @property
    def workflow_version(self) -> str:
        """The version runs started here record: ``version`` when declared (class attribute
        or ``version=``), else a hash of the steps' names, types and configuration."""
        if self.version:
            return self.version
        definition = self.definition()  # cached per class until its steps change
        hashed: tuple[WorkflowDefinition, str] | None = getattr(self, "_hashed", None)
        if hashed is None or hashed[0] is not definition:
            hashed = self._hashed = (definition, definition_version(definition))
        return hashed[1]

    @property
    def start_event_class(self) -> type[StartEvent]:
        """The ``StartEvent`` type this workflow starts from."""
        spec = self.definition().spec
        assert spec is not None
        start: type[StartEvent] = spec.start_event
        return start

    @property
    def stop_event_class(self) -> type[Event]:
        """The ``StopEvent`` type this workflow ends with."""
        spec = self.definition().spec
        assert spec is not None
        stop: type[Event] = spec.stop_event
        return stop

    @property
    def events(self) -> list[type[Event]]:
        """Every event type a step of this workflow accepts or returns."""
        return self.definition().events

    @property
    def resource_manager(self) -> ResourceManager:
        """Where this workflow's ``Resource`` values are cached."""
        return self._resource_manager

    @property
    def timeout(self) -> float | None:
        """Seconds a run may take, or ``None``."""
        return self._timeout

    @property
    def clock(self) -> Clock:
        """The source of time for this workflow's runs' timeouts and retries."""
        return self._clock

    @property
    def verbose(self) -> bool:
        """True when each step's start and end is printed to standard output."""
        return self._verbose

    @property
    def given_name(self) -> str | None:
        """The ``workflow_name`` given at construction (or adopted), else ``None``."""
        return self._name

    def adopt_name(self, name: str) -> None:
        """Take ``name`` as this workflow's name unless one was given at construction.

        The server calls this so a workflow journals its runs under the name it is served as.
        """
        if self._name is None:
            self._name = name

    # -- validation and running ---------------------------------------------------------------

    def _validate_graph(self) -> None:
        definition = self.definition(self._skips)
        definition.raise_for_problems()
        self._validated_version = type(self)._version

    def validate(
        self, *, validate_resource_configs: bool = True, validate_resources: bool = False
    ) -> bool:
        """Check the workflow's graph (and resource config files) now, re-reading its steps.

        Args:
            validate_resource_configs: Load and validate every ``ResourceConfig`` file, those
                that resource factories take included.
            validate_resources: Also build every resource once, calling its factory, in a
                scratch resource manager (nothing is cached for the runs).

        Returns:
            True when the workflow asks people for input (``InputRequiredEvent`` /
            ``HumanResponseEvent``).

        Raises:
            WorkflowConfigurationError: If start/stop events cannot be inferred.
            WorkflowValidationError: If the graph has problems, a ``ResourceConfig`` file is
                missing or does not validate, or a factory fails (the message names the step
                and parameter).
        """
        type(self)._cached = None  # re-read the step configurations: they may have changed
        self._validate_graph()
        definition = self.definition()
        check_resources(
            definition.configs,
            config_files=validate_resource_configs,
            factories=validate_resources,
        )
        return definition.uses_human_input

    def run(
        self,
        ctx: Context[Any] | None = None,
        start_event: StartEvent | None = None,
        run_id: str | None = None,
        **kwargs: Any,
    ) -> WorkflowHandler:
        """Start a run and return its handler at once (needs a running event loop).

        Args:
            ctx: A context to run in: its state carries over; a context restored mid-run
                resumes without a new start event.
            start_event: The start event; or pass its fields as keyword arguments.
            run_id: The run's id (default: a random 10-character id).
            **kwargs: Fields of the start event.

        Raises:
            StartEventError: If the start event is of the wrong type, or the keyword arguments
                do not validate, or both a start event and keyword arguments are given.
            ContextStateError: If ``ctx`` is still running another run.
            WorkflowValidationError: If steps were added since the last check and the graph
                now has problems.
        """
        definition = self.definition()
        if definition.config_error is not None:
            raise definition.config_error
        if not self._disable_validation and self._validated_version != type(self)._version:
            self._validate_graph()
        self._validation_result = definition
        context = ctx if ctx is not None else Context(self)
        if context.wiring.running:
            raise ContextStateError(
                "Cannot start a new run while context is already running. Await the current "
                "run (or cancel it) first, or use a new Context."
            )
        event = None if context.wiring.resumes_restored else self._start_event(start_event, kwargs)
        run_id = run_id or new_run_id()
        handler = WorkflowHandler(context, run_id, self.workflow_name)
        if self._num_concurrent_runs is None:
            launch(self, definition, context, handler, event)
        else:
            asyncio.get_running_loop().create_task(
                self._queued(definition, context, handler, event)
            )
        return handler

    def _start_event(
        self,
        start_event: StartEvent | None,
        kwargs: dict[str, Any],
        expected: type[StartEvent] | None = None,
    ) -> StartEvent:
        return start_event_for(self, start_event, kwargs, expected)

    async def _queued(
        self,
        definition: WorkflowDefinition,
        context: Context[Any],
        handler: WorkflowHandler,
        start_event: StartEvent | None,
    ) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._num_concurrent_runs or 1)
        slots = self._slots
        await slots.acquire()
        if handler.done():
            slots.release()
            return
        launch(self, definition, context, handler, start_event, on_end=slots.release)


def resolve_store(store: Store | str | None) -> Store | None:
    """A store from a ``Store`` or a URL (``sqlite:///runs.db``, ``memory://``, ``postgresql://``).

    Raises:
        StoreError: If the URL's scheme is not one stepwork knows.
    """
    if store is None or not isinstance(store, str):
        return store
    from stepwork._stores.url import store_from_url

    return store_from_url(store)
