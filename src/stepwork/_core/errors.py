"""The stepwork error tree.

Every error stepwork raises on purpose descends from :class:`StepworkError`. Names shared with
LlamaIndex Workflows keep their meaning, so ``except WorkflowTimeoutError`` ports unchanged.
Where the anchor raised a builtin (``ValueError``, ``RuntimeError``), our error also derives from
that builtin so existing ``except ValueError`` code keeps working.

Errors about a run carry ``run_id``; errors about a step carry ``step_name``.
"""

from __future__ import annotations

__all__ = [
    "CompatInstallError",
    "ContextSerdeError",
    "ContextStateError",
    "CronSyntaxError",
    "JournalConflictError",
    "JournalCorruptError",
    "JournalWriteError",
    "JournaledCallError",
    "JournaledCallMismatchError",
    "JournaledResultTooLargeError",
    "LeaseLostError",
    "LimitConflictError",
    "LimitKeyError",
    "MissingExtraError",
    "ResourceError",
    "RetryAfter",
    "RunNotFoundError",
    "ScheduleError",
    "ScheduleExistsError",
    "ScheduleNotFoundError",
    "ServerConfigurationError",
    "StartEventError",
    "StateSerializationError",
    "StateStoreError",
    "StepTimeoutError",
    "StepworkError",
    "StoreError",
    "WorkflowCancelledByUser",
    "WorkflowConfigurationError",
    "WorkflowDone",
    "WorkflowRuntimeError",
    "WorkflowStalledError",
    "WorkflowStepDoesNotExistError",
    "WorkflowTimeoutError",
    "WorkflowValidationError",
    "WorkflowVersionError",
]


class StepworkError(Exception):
    """Root of every error stepwork raises on purpose.

    Args:
        *args: What went wrong and how to fix it: usually one message; several arguments are
            kept in ``args`` as any exception keeps them (LlamaIndex Workflows' errors accept
            them too).
        run_id: The run concerned, when there is one.
        step_name: The step concerned, when there is one.
    """

    def __init__(
        self, *args: object, run_id: str | None = None, step_name: str | None = None
    ) -> None:
        super().__init__(*args)
        self.run_id = run_id
        self.step_name = step_name

    def __reduce__(self) -> tuple[object, ...]:
        # Keep errors picklable across processes despite keyword-only attributes.
        return (_rebuild, (type(self), self.args, self.run_id, self.step_name))


def _rebuild(
    cls: type[StepworkError], args: tuple[object, ...], run_id: str | None, step_name: str | None
) -> StepworkError:
    return cls(*args, run_id=run_id, step_name=step_name)


class WorkflowValidationError(StepworkError):
    """A step signature or the workflow's graph is wrong (raised at definition or ``run()``)."""


class WorkflowConfigurationError(StepworkError):
    """The workflow cannot work as configured: no or several start/stop event types."""


class WorkflowRuntimeError(StepworkError, RuntimeError):
    """Something went wrong while a run was being set up or executed."""


class StartEventError(WorkflowRuntimeError, ValueError):
    """``run()`` got a start event of the wrong type, or keyword arguments that do not validate."""


class WorkflowVersionError(WorkflowRuntimeError):
    """A run was started by another version of its workflow than this process serves, so it is
    not continued here (see ``docs/scale-out.md``).

    Attributes:
        recorded: The version the run was started by.
        serving: The version this process serves.
    """

    def __init__(
        self,
        *args: object,
        run_id: str | None = None,
        step_name: str | None = None,
        recorded: str | None = None,
        serving: str | None = None,
    ) -> None:
        super().__init__(*args, run_id=run_id, step_name=step_name)
        self.recorded = recorded
        self.serving = serving


class WorkflowStalledError(WorkflowRuntimeError):
    """The run can never finish: nothing is running, queued, scheduled or waiting for input."""


class WorkflowTimeoutError(StepworkError):
    """The run exceeded its ``timeout``.

    Not a builtin ``TimeoutError``, as in LlamaIndex Workflows: ``TimeoutError`` is an
    ``OSError``, and ``except OSError`` around network code must not swallow a run's timeout.
    Catch ``WorkflowTimeoutError`` (or ``StepworkError``).
    """


class StepTimeoutError(WorkflowTimeoutError):
    """One step invocation exceeded the ``timeout`` given to its ``@step``."""


class WorkflowCancelledByUser(StepworkError):
    """The run was cancelled by its caller (``handler.cancel_run()``)."""


class ContextStateError(StepworkError, RuntimeError):
    """A ``Context`` operation was used where it is not available (e.g. outside a step)."""


class ContextSerdeError(StepworkError, ValueError):
    """A context snapshot could not be written or read."""


class StateSerializationError(ContextSerdeError):
    """A value written to ``ctx.store`` cannot be serialised to JSON; the message names the key."""


class StateStoreError(StepworkError, ValueError):
    """A ``ctx.store`` call got a path, value or state type it cannot use (e.g. a missing path)."""


class StoreError(StepworkError):
    """A journal store could not do what was asked."""


class RunNotFoundError(StoreError, KeyError):
    """No run with that id in the store."""

    def __str__(self) -> str:
        # KeyError would show the message quoted; keep it readable.
        return str(self.args[0]) if self.args else ""


class JournalConflictError(StoreError):
    """An append overlaps what is stored, leaves a gap, or names a run that does not exist."""


class LeaseLostError(JournalConflictError):
    """This process no longer holds the run's lease: another process claimed the run (its
    epoch moved on), or the lease was released. Nothing of the refused write was stored; the
    holder must stop the run's work at once, since the new owner continues it from the journal.
    """


class JournalCorruptError(StoreError, ValueError):
    """A stored record cannot be read (half-written, unknown kind, newer schema), a record is
    missing from a run's numbering (a deleted row), or a run's row is unreadable: names the run
    and the record. It concerns that run alone; the message says what to do about it.

    Args:
        message: What is wrong and how to fix it.
        run_id: The run concerned.
        record: Which record: ``"tick"`` (numbered by ``seq``), ``"event"`` (by offset) or
            ``"run"`` (the run's own row), when known.
        seq: The seq or offset of the missing or unreadable record, when there is one.
    """

    def __init__(
        self,
        message: str = "",
        *,
        run_id: str | None = None,
        step_name: str | None = None,
        record: str | None = None,
        seq: int | None = None,
    ) -> None:
        super().__init__(message, run_id=run_id, step_name=step_name)
        self.record = record
        self.seq = seq

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_corrupt, (type(self), str(self), self.run_id, self.record, self.seq))


def _rebuild_corrupt(
    cls: type[JournalCorruptError],
    message: str,
    run_id: str | None,
    record: str | None,
    seq: int | None,
) -> JournalCorruptError:
    return cls(message, run_id=run_id, record=record, seq=seq)


class JournalWriteError(StoreError):
    """A run's journal could not be written (disk full, read-only database, lost server): the
    run stopped in this process at its last stored tick, and nothing after it took effect.

    The run is left as stored: its row still says ``running``, so it resumes from its journal
    (``Workflow.resume``, or a server that serves it) once the store is writable again. The
    store's own error is the ``__cause__``.
    """


class ResourceError(StepworkError, ValueError):
    """A resource could not be resolved (e.g. a circular dependency between factories)."""


class ServerConfigurationError(StepworkError, ValueError):
    """Workflows cannot be served as given (a duplicate name, a workflow with a store of its
    own, a class instead of an instance, a bad number); the message says how to fix it."""


class CompatInstallError(StepworkError, RuntimeError):
    """``stepwork.compat.install()`` cannot alias ``workflows``: the real package is imported."""


class MissingExtraError(StepworkError, ImportError):
    """An optional integration was asked for without its extra; the message names the
    ``pip install 'stepwork[...]'`` to run."""


class WorkflowDone(StepworkError):
    """Kept for compatibility with LlamaIndex Workflows; stepwork does not raise it."""


class WorkflowStepDoesNotExistError(StepworkError):
    """Kept for compatibility with LlamaIndex Workflows; stepwork does not raise it."""


class JournaledCallMismatchError(WorkflowRuntimeError):
    """A step re-running from its journal made a different journaled call (``ctx.once``, a
    child workflow) than the one journaled at that place: its code changed while the run was
    in flight. The message names the call journaled and the call made."""


class JournaledResultTooLargeError(StateSerializationError):
    """A ``ctx.once`` result is larger, serialised, than one journal record may hold
    (``stepwork.MAX_JOURNALED_RESULT_BYTES``); store it elsewhere and return a reference."""


class JournaledCallError(StepworkError):
    """Stands in for an error a journaled call raised when its class is neither stepwork's
    nor a builtin, so it cannot be rebuilt from the journal.

    Args:
        message: The original error's message.
        error_type: The original error's class, as ``module.QualName``.
        run_id: The run concerned.
        step_name: The step that made the call.
    """

    def __init__(
        self,
        *args: object,
        error_type: str = "",
        run_id: str | None = None,
        step_name: str | None = None,
    ) -> None:
        super().__init__(*args, run_id=run_id, step_name=step_name)
        self.error_type = error_type

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_call_error, (self.args, self.error_type, self.run_id, self.step_name))


def _rebuild_call_error(
    args: tuple[object, ...], error_type: str, run_id: str | None, step_name: str | None
) -> JournaledCallError:
    return JournaledCallError(*args, error_type=error_type, run_id=run_id, step_name=step_name)


class LimitConflictError(WorkflowConfigurationError):
    """A process declared a named limit with other numbers than the ones its store keeps
    (every process sharing a store must declare the same ``Limit`` under a name).

    Attributes:
        declared: The ``Limit(...)`` this process declared.
        recorded: The ``Limit(...)`` the store keeps for the name.
    """

    def __init__(
        self,
        *args: object,
        run_id: str | None = None,
        step_name: str | None = None,
        declared: str = "",
        recorded: str = "",
    ) -> None:
        super().__init__(*args, run_id=run_id, step_name=step_name)
        self.declared = declared
        self.recorded = recorded


class LimitKeyError(StartEventError):
    """A run's start event lacks the field a keyed limit (``Limit(key=...)``) of its workflow
    splits on; raised when the run starts."""


class RetryAfter(StepworkError):
    """Raised by a step to say "rate limited: try again in ``seconds``".

    The step's retry policy decides whether there is a next attempt (this counts as one
    attempt); if there is, it starts no earlier than ``seconds`` (or the policy's own delay,
    if longer) plus a random jitter of up to ``jitter`` seconds, drawn per failure so that
    a fleet told the same ``seconds`` does not retry in lockstep. Without a retry policy
    the step fails like any error.

    Args:
        seconds: The least time to wait before the next attempt (>= 0).
        reason: Why, for logs and the run's error.
        jitter: Most extra random wait; ``None`` for 10% of ``seconds`` (at least 0.1 s).

    Raises:
        ValueError: If ``seconds`` or ``jitter`` is not a non-negative number.

    Example:
        >>> error = RetryAfter(30, "429 from the provider")
        >>> error.retry_after, error.jitter, str(error)
        (30.0, 3.0, 'Rate limited: retry after 30.0 s (429 from the provider).')
    """

    def __init__(
        self,
        seconds: float,
        reason: str = "",
        *,
        jitter: float | None = None,
        run_id: str | None = None,
        step_name: str | None = None,
    ) -> None:
        self.retry_after = float(seconds)
        self.jitter = max(0.1, self.retry_after * 0.1) if jitter is None else float(jitter)
        if not (self.retry_after >= 0 and self.jitter >= 0):  # also refuses NaN
            raise ValueError(
                f"RetryAfter needs seconds >= 0 and jitter >= 0, got {seconds!r}, {jitter!r}."
            )
        self.reason = reason
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"Rate limited: retry after {self.retry_after} s{why}.",
            run_id=run_id,
            step_name=step_name,
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_retry_after, (self.retry_after, self.reason, self.jitter))


def _rebuild_retry_after(seconds: float, reason: str, jitter: float) -> RetryAfter:
    return RetryAfter(seconds, reason, jitter=jitter)


class ScheduleError(StepworkError, ValueError):
    """A schedule cannot be added or changed as asked (a bad rule, start, time zone or
    workflow); the message says what to fix."""


class CronSyntaxError(ScheduleError):
    """A cron expression is malformed or never matches.

    Args:
        message: What is wrong and how to fix it.
        field: The field at fault (``"minute"``, ``"hour"``, ``"day of month"``,
            ``"month"``, ``"day of week"``), ``None`` when the count of fields is wrong.
        expression: The expression as given.
    """

    def __init__(
        self, message: str = "", *, field: str | None = None, expression: str = ""
    ) -> None:
        super().__init__(message)
        self.field = field
        self.expression = expression

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_cron, (str(self), self.field, self.expression))


def _rebuild_cron(message: str, field: str | None, expression: str) -> CronSyntaxError:
    return CronSyntaxError(message, field=field, expression=expression)


class ScheduleNotFoundError(ScheduleError, KeyError):
    """No schedule of that name in the store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ScheduleExistsError(ScheduleError):
    """A schedule of that name exists already: pick another name, or delete it first."""
