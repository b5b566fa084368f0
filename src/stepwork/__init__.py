"""stepwork: an event-driven workflow engine, drop-in for LlamaIndex Workflows.

Example:
    >>> from stepwork import StartEvent, StopEvent, Workflow, step
    >>> class Hello(Workflow):
    ...     @step
    ...     async def hi(self, ev: StartEvent) -> StopEvent:
    ...         return StopEvent(result="hi")
"""

# Every exported class reports its public module (``stepwork.events.StopEvent``): those are
# the names journals, snapshots and HTTP bodies carry. The submodules imported here are the
# deepest public homes of names exported above (the anchor's ``workflows.context.context``).
import sys as _sys
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

import stepwork.context.context as _context_module  # noqa: F401 (published below)
import stepwork.context.serializers as _serializers_module  # noqa: F401 (published below)
import stepwork.context.state_store as _state_store_module  # noqa: F401 (published below)
from stepwork._core.public_names import publish_imported as _publish_imported
from stepwork._version import __version__ as __version__
from stepwork.collect import (
    All,
    Cardinality,
    Collect,
    Take,
)
from stepwork.context import (
    Context,
)
from stepwork.decorators import (
    MAX_JOURNALED_RESULT_BYTES,
    Limit,
    catch_error,
    once,
    step,
)
from stepwork.errors import (
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
)
from stepwork.events import (
    CollectionReleaseEvent,
    DictLikeModel,
    Event,
    EventType,
    HumanResponseEvent,
    IdleReleasedEvent,
    InputRequiredEvent,
    InternalDispatchEvent,
    SerializableEvent,
    SerializableException,
    StartEvent,
    StepFailedEvent,
    StepState,
    StepStateChanged,
    StopEvent,
    UnhandledEvent,
    UnreconstructedException,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowIdleEvent,
    WorkflowTimedOutEvent,
)
from stepwork.handler import (
    WorkflowHandler,
)
from stepwork.resource import (
    Resource,
    ResourceConfig,
    ResourceConfigFileNotFoundError,
    ResourceDefinition,
    ResourceDescriptor,
    ResourceManager,
)
from stepwork.retry_policy import (
    ConstantDelayRetryPolicy,
    ExponentialBackoffRetryPolicy,
    RetryCondition,
    RetryInfo,
    RetryPolicy,
    StopCondition,
    WaitStrategy,
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
    retry_policy,
    retry_unless_exception_type,
    stop_after_attempt,
    stop_after_delay,
    stop_all,
    stop_any,
    stop_before_delay,
    stop_never,
    wait_chain,
    wait_combine,
    wait_exponential,
    wait_exponential_jitter,
    wait_fixed,
    wait_full_jitter,
    wait_incrementing,
    wait_none,
    wait_random,
    wait_random_exponential,
)
from stepwork.workflow import (
    Workflow,
)

_publish_imported(_sys.modules)

if _TYPE_CHECKING:
    from stepwork.stores import MemoryStore, PostgresStore, Schedule, SqliteStore, Store

# The stores load on first use: a program that runs workflows in memory never pays for them.
_FROM_STORES = frozenset({"MemoryStore", "PostgresStore", "Schedule", "SqliteStore", "Store"})


def __getattr__(name: str) -> _Any:
    """``stepwork.SqliteStore`` and the other store names, imported when first asked for."""
    if name in _FROM_STORES:
        import stepwork.stores as stores

        value = getattr(stores, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'stepwork' has no attribute {name!r}")


__all__ = [
    "All",
    "Cardinality",
    "Collect",
    "CollectionReleaseEvent",
    "ConstantDelayRetryPolicy",
    "Context",
    "ContextSerdeError",
    "ContextStateError",
    "CronSyntaxError",
    "DictLikeModel",
    "Event",
    "EventType",
    "ExponentialBackoffRetryPolicy",
    "HumanResponseEvent",
    "IdleReleasedEvent",
    "InputRequiredEvent",
    "InternalDispatchEvent",
    "JournalConflictError",
    "JournalCorruptError",
    "JournalWriteError",
    "JournaledCallError",
    "JournaledCallMismatchError",
    "JournaledResultTooLargeError",
    "LeaseLostError",
    "Limit",
    "LimitConflictError",
    "LimitKeyError",
    "MAX_JOURNALED_RESULT_BYTES",
    "MemoryStore",
    "PostgresStore",
    "Resource",
    "ResourceConfig",
    "ResourceConfigFileNotFoundError",
    "ResourceDefinition",
    "ResourceDescriptor",
    "ResourceError",
    "ResourceManager",
    "RetryAfter",
    "RetryCondition",
    "RetryInfo",
    "RetryPolicy",
    "RunNotFoundError",
    "Schedule",
    "ScheduleError",
    "ScheduleExistsError",
    "ScheduleNotFoundError",
    "SerializableEvent",
    "SerializableException",
    "ServerConfigurationError",
    "SqliteStore",
    "StartEvent",
    "StartEventError",
    "StateSerializationError",
    "StepFailedEvent",
    "StepState",
    "StepStateChanged",
    "StepTimeoutError",
    "StepworkError",
    "StopCondition",
    "StopEvent",
    "Store",
    "StoreError",
    "Take",
    "UnhandledEvent",
    "UnreconstructedException",
    "WaitStrategy",
    "Workflow",
    "WorkflowCancelledByUser",
    "WorkflowCancelledEvent",
    "WorkflowConfigurationError",
    "WorkflowDone",
    "WorkflowFailedEvent",
    "WorkflowHandler",
    "WorkflowIdleEvent",
    "WorkflowRuntimeError",
    "WorkflowStalledError",
    "WorkflowStepDoesNotExistError",
    "WorkflowTimedOutEvent",
    "WorkflowTimeoutError",
    "WorkflowValidationError",
    "catch_error",
    "once",
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
    "step",
    "stop_after_attempt",
    "stop_after_delay",
    "stop_all",
    "stop_any",
    "stop_before_delay",
    "stop_never",
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
