"""The one seam through which runs are watched: a :class:`RunObserver` called at a few points.

The driver and the journal call the active observer (if any) when a run starts or ends, a step
attempt starts or ends, a step waits for an event, and a batch of ticks is written. Tracing
(OpenTelemetry), metrics and anything a user adds are observers; the driver knows none of them.

Invariants:
- With no observer registered and OpenTelemetry not imported by the program, a run costs one
  ``None`` check per call site: nothing is imported, nothing is counted.
- Observers never change a run: an exception raised by one is not caught here, so an observer
  must not raise (the ones stepwork ships do not).
- OpenTelemetry is used only when the program has imported ``opentelemetry.trace`` itself (it
  must have, to set a ``TracerProvider``): stepwork never imports it first.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from stepwork._runtime.driver import RunDriver
    from stepwork._runtime.journal import Journal
    from stepwork._runtime.observe_otel import OtelObserver

__all__ = [
    "RunObserver",
    "active_observer",
    "add_observer",
    "live_drivers",
    "llama_observer",
    "otel_observer",
    "queue_depths",
    "remove_observer",
    "report_takeover",
    "track",
    "watch",
]


class RunObserver(Protocol):
    """What the runtime tells an observer. Every method must return quickly and never raise.

    Times are ``time.time_ns()`` values (wall clock, nanoseconds), as OpenTelemetry wants them.
    """

    def run_started(self, run_id: str, workflow: str, *, resumed: bool) -> None:
        """A run began in this process (``resumed``: it continues a journaled run)."""

    def run_ended(self, run_id: str, status: str, error: BaseException | None) -> None:
        """The run ended here: ``completed``, ``failed``, ``cancelled``, ``timed_out``, or
        ``detached`` (this process let go of it; the journal lets another continue it)."""

    def step_attempt_started(self, run_id: str, step: str, invocation: int, attempt: int) -> object:
        """A step attempt is about to run its code, in the task that runs it.

        Returns:
            A token handed back to :meth:`step_code_left` when the step's code returns or raises
            (in the same task), e.g. to make a span current only while the step's code runs.
        """

    def step_code_left(self, token: object) -> None:
        """The step's code returned or raised (called in its task, with the started token)."""

    def step_attempt_ended(
        self,
        run_id: str,
        invocation: int,
        error: BaseException | None,
        retry_delay: float | None,
    ) -> None:
        """The attempt's outcome: ``error`` is ``None`` when it returned; ``retry_delay`` is the
        delay before the next attempt when it failed and will be retried. A step cancelled
        because its run ended gets ``run_ended`` only."""

    def wait_started(self, run_id: str, invocation: int, waiter_id: str) -> None:
        """A step began waiting for an event (``ctx.wait_for_event``: often a person)."""

    def wait_ended(self, run_id: str, invocation: int, waiter_id: str, answered: bool) -> None:
        """The wait ended: ``answered`` unless it timed out."""

    def journal_batch_written(
        self,
        run_id: str,
        first_seq: int,
        ticks: int,
        start_ns: int,
        end_ns: int,
        error: BaseException | None,
    ) -> None:
        """A batch of ``ticks`` ticks (from ``first_seq``) was written, or failed to be."""


class _Many:
    """Several observers called in turn, in the order they were added."""

    def __init__(self, observers: tuple[RunObserver, ...]) -> None:
        self.observers = observers

    def run_started(self, run_id: str, workflow: str, *, resumed: bool) -> None:
        for observer in self.observers:
            observer.run_started(run_id, workflow, resumed=resumed)

    def run_ended(self, run_id: str, status: str, error: BaseException | None) -> None:
        for observer in self.observers:
            observer.run_ended(run_id, status, error)

    def step_attempt_started(self, run_id: str, step: str, invocation: int, attempt: int) -> object:
        return [o.step_attempt_started(run_id, step, invocation, attempt) for o in self.observers]

    def step_code_left(self, token: object) -> None:
        assert isinstance(token, list)
        # Left in the reverse order of entering: context tokens unwind like a stack.
        for observer, each in reversed(list(zip(self.observers, token, strict=True))):
            observer.step_code_left(each)

    def step_attempt_ended(
        self,
        run_id: str,
        invocation: int,
        error: BaseException | None,
        retry_delay: float | None,
    ) -> None:
        for observer in self.observers:
            observer.step_attempt_ended(run_id, invocation, error, retry_delay)

    def wait_started(self, run_id: str, invocation: int, waiter_id: str) -> None:
        for observer in self.observers:
            observer.wait_started(run_id, invocation, waiter_id)

    def wait_ended(self, run_id: str, invocation: int, waiter_id: str, answered: bool) -> None:
        for observer in self.observers:
            observer.wait_ended(run_id, invocation, waiter_id, answered)

    def journal_batch_written(
        self,
        run_id: str,
        first_seq: int,
        ticks: int,
        start_ns: int,
        end_ns: int,
        error: BaseException | None,
    ) -> None:
        for observer in self.observers:
            observer.journal_batch_written(run_id, first_seq, ticks, start_ns, end_ns, error)


_ADDED: list[RunObserver] = []
_OTEL: list[OtelObserver] = []  # the OpenTelemetry observer, made once it is first needed
_LIVE: weakref.WeakSet[RunDriver] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()  # gauges read live runs from a metric reader's thread


def add_observer(observer: RunObserver) -> None:
    """Call ``observer`` for every run started in this process from now on.

    Example:
        >>> from stepwork.observe import RunMetrics, add_observer, remove_observer
        >>> metrics = RunMetrics()
        >>> add_observer(metrics)
        >>> remove_observer(metrics)
    """
    if not any(each is observer for each in _ADDED):
        _ADDED.append(observer)


def remove_observer(observer: RunObserver) -> None:
    """Stop calling ``observer`` for runs started from now on (a no-op if it was not added)."""
    _ADDED[:] = [each for each in _ADDED if each is not observer]


def active_observer() -> RunObserver | None:
    """The observer a run starting now reports to, or ``None`` when nobody watches."""
    observers = list(_ADDED)
    otel = otel_observer()
    if otel is not None:
        observers.insert(0, otel)
    if not observers:
        return None
    if len(observers) == 1:
        return observers[0]
    return _Many(tuple(observers))


def report_takeover(run_id: str, workflow: str, previous_owner: str) -> None:
    """Tell the observers that have a ``lease_taken_over(run_id, workflow, previous_owner)``
    method (the OpenTelemetry one, :class:`~stepwork.observe.RunMetrics`) that this process
    claimed run ``run_id`` from ``previous_owner``, whose lease lapsed (or who died).

    An optional method, not part of :class:`RunObserver`: observers written before it exist
    keep working."""
    observers: list[object] = list(_ADDED)
    otel = otel_observer()
    if otel is not None:
        observers.insert(0, otel)
    for observer in observers:
        taken = getattr(observer, "lease_taken_over", None)
        if taken is not None:
            taken(run_id, workflow, previous_owner)


def watch(driver: RunDriver, journal: Journal | None) -> RunObserver | None:
    """The observer of ``driver``'s run (also handed to its journal), or ``None``."""
    observer = active_observer()
    llama = llama_observer(driver)
    if llama is not None:
        observer = llama if observer is None else _Many((observer, llama))
    if observer is not None:
        track(driver)
        if journal is not None:
            journal.observer = observer
    return observer


def otel_observer() -> OtelObserver | None:
    """The OpenTelemetry observer, made on first use; ``None`` while the program has not
    imported ``opentelemetry.trace`` (then it cannot have set a tracer provider)."""
    if "opentelemetry.trace" not in sys.modules:
        return None
    if not _OTEL:
        from stepwork._runtime.observe_otel import OtelObserver

        _OTEL.append(OtelObserver())
    return _OTEL[0]


def llama_observer(driver: RunDriver) -> RunObserver | None:
    """An observer emitting ``driver``'s run through LlamaIndex's instrumentation dispatcher, or
    ``None`` while the program has not imported ``llama_index_instrumentation`` or no handler
    but the null ones is attached (then nobody would receive anything)."""
    if "llama_index_instrumentation.dispatcher" not in sys.modules:
        return None
    from stepwork._runtime.observe_llama import LlamaObserver, listening

    return LlamaObserver(driver) if listening() else None


def track(driver: RunDriver) -> None:
    """Remember ``driver`` (weakly) so gauges such as queue depth can read live runs."""
    with _LIVE_LOCK:
        _LIVE.add(driver)


def live_drivers() -> Iterator[RunDriver]:
    """The observed runs of this process that have not ended."""
    with _LIVE_LOCK:
        drivers = list(_LIVE)
    for driver in drivers:
        if not driver.state.done:
            yield driver


def queue_depths() -> dict[str, int]:
    """Deliveries waiting for a free worker in live observed runs, by workflow name.

    May be called from any thread (a metric reader's): a run whose state changes while it is
    read is counted on the next call instead.
    """
    depths: dict[str, int] = {}
    for driver in live_drivers():
        try:
            depth = sum(len(runtime.queue) for runtime in list(driver.state.steps.values()))
        except RuntimeError:  # pragma: no cover - the loop's thread changed it meanwhile
            continue
        name = driver.workflow.workflow_name
        depths[name] = depths.get(name, 0) + depth
    return depths
