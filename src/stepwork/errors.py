"""The stepwork error tree.

    StepworkError
    ├── WorkflowValidationError        bad step signature or graph (definition / construction)
    ├── WorkflowConfigurationError     no or several start/stop event types (construction)
    ├── WorkflowRuntimeError           (also a RuntimeError) something failed during a run
    │   ├── StartEventError            (also a ValueError) bad start event or keyword arguments
    │   ├── WorkflowStalledError       the run can never finish
    │   ├── WorkflowVersionError       the run was started by another version of the workflow
    │   └── JournaledCallMismatchError a re-run step made another journaled call than its
    │                                  journal holds at that place (its code changed)
    ├── WorkflowTimeoutError           the run exceeded its timeout (not an OSError)
    │   └── StepTimeoutError           one step invocation exceeded its own timeout
    ├── WorkflowCancelledByUser        the caller cancelled the run
    ├── ContextStateError              (also a RuntimeError) a Context call in the wrong place
    ├── ContextSerdeError              (also a ValueError) a snapshot could not be written/read
    │   └── StateSerializationError    a state value is not JSON-serialisable (names the key)
    │       └── JournaledResultTooLargeError  a ctx.once result is too large to journal
    ├── StoreError                     a journal store could not do what was asked
    │   ├── RunNotFoundError           (also a KeyError) no run with that id
    │   ├── JournalConflictError       an append overlaps or leaves a gap
    │   │   └── LeaseLostError         another process took the run over (its epoch moved on)
    │   ├── JournalCorruptError        (also a ValueError) a stored record cannot be read
    │   └── JournalWriteError          a run's journal write failed; the run stopped there
    ├── ResourceError                  (also a ValueError) a resource could not be resolved
    ├── ServerConfigurationError       (also a ValueError) workflows cannot be served as given
    ├── ScheduleError                  (also a ValueError) a schedule cannot be added or changed
    │   ├── CronSyntaxError            a cron expression is wrong (``field`` names the field)
    │   ├── ScheduleNotFoundError      (also a KeyError) no schedule of that name
    │   └── ScheduleExistsError        a schedule of that name exists already
    ├── CompatInstallError             (also a RuntimeError) stepwork.compat cannot alias
    │                                  ``workflows``: the real package is already imported
    ├── MissingExtraError              (also an ImportError) an optional integration's extra
    │                                  is not installed; names the pip install to run
    ├── StepworkClientError            an HTTP call failed (``stepwork.client``, which lists
    │                                  its subclasses: not found, conflict, invalid, ...)
    ├── JournaledCallError             a journaled call's error whose class cannot be rebuilt
    │                                  (carries ``error_type`` and the message)
    ├── WorkflowDone                   compatibility only
    └── WorkflowStepDoesNotExistError  compatibility only

Errors about a run carry ``run_id``; errors about a step carry ``step_name``.

Example:
    >>> from stepwork.errors import StepworkError, WorkflowTimeoutError
    >>> issubclass(WorkflowTimeoutError, StepworkError)
    True
    >>> issubclass(WorkflowTimeoutError, OSError)  # unlike the builtin TimeoutError
    False
"""

from stepwork._core.errors import (
    CompatInstallError,
    ContextSerdeError,
    ContextStateError,
    CronSyntaxError,
    JournalConflictError,
    JournalCorruptError,
    JournaledCallError,
    JournaledCallMismatchError,
    JournaledResultTooLargeError,
    JournalWriteError,
    LeaseLostError,
    LimitConflictError,
    LimitKeyError,
    MissingExtraError,
    ResourceError,
    RetryAfter,
    RunNotFoundError,
    ScheduleError,
    ScheduleExistsError,
    ScheduleNotFoundError,
    ServerConfigurationError,
    StartEventError,
    StateSerializationError,
    StepTimeoutError,
    StepworkError,
    StoreError,
    WorkflowCancelledByUser,
    WorkflowConfigurationError,
    WorkflowDone,
    WorkflowRuntimeError,
    WorkflowStalledError,
    WorkflowStepDoesNotExistError,
    WorkflowTimeoutError,
    WorkflowValidationError,
    WorkflowVersionError,
)

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
