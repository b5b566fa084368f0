"""The outcome of a journaled call as JSON, and back: what ``TickOnce.outcome`` holds.

An outcome is ``{"value": <value codec JSON>}`` for a call that returned, ``{"error":
{"exception_type", "exception_message"}}`` for one that raised, and for a child workflow
``{"child": run_id}`` plus the child's ``value`` or ``error`` once it has ended.

Reading a value back never imports anything: a class it names must be allowed for the
workflow (its events and state types) or already imported in this process (a pydantic
model, an enum, an event). An error comes back as its own class when that is a builtin or
one of stepwork's; any other class comes back as :class:`JournaledCallError` carrying the
class name and message.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Any

from pydantic import BaseModel

from stepwork._core.errors import (
    JournaledCallError,
    JournaledCallMismatchError,
    JournaledResultTooLargeError,
)
from stepwork._core.event_fields import UnreconstructedException, dump_exception, load_exception
from stepwork._stores.codec import JSON, dump_value, load_value
from stepwork._stores.type_registry import TypeRegistry

__all__ = [
    "MAX_JOURNALED_RESULT_BYTES",
    "ImportedTypes",
    "call_summary",
    "check_same_call",
    "error_outcome",
    "outcome_result",
    "parent_of",
    "value_outcome",
]

#: The largest outcome, serialised as JSON, one journaled call may record (1 MiB).
MAX_JOURNALED_RESULT_BYTES = 1024 * 1024

# An error's message is cut to this many characters in the journal.
_MESSAGE_LIMIT = 16 * 1024


def value_outcome(name: str, value: Any, *, run_id: str, step: str) -> dict[str, JSON]:
    """The outcome of call ``name`` that returned ``value``.

    Raises:
        StateSerializationError: If ``value`` cannot be written as JSON (names the path).
        JournaledResultTooLargeError: If it is larger than ``MAX_JOURNALED_RESULT_BYTES``.
    """
    outcome: dict[str, JSON] = {
        "value": dump_value(value, path=f"ctx.once({name!r})", label="journaled result")
    }
    size = len(json.dumps(outcome, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_JOURNALED_RESULT_BYTES:
        raise JournaledResultTooLargeError(
            f"The result of ctx.once({name!r}) is {size:,} bytes as JSON; one journaled call "
            f"keeps at most {MAX_JOURNALED_RESULT_BYTES:,} bytes. Keep the data elsewhere (a "
            "file, a blob store, a table) and return a reference to it from the call.",
            run_id=run_id,
            step_name=step,
        )
    return outcome


def error_outcome(error: BaseException) -> dict[str, JSON]:
    """The outcome of a call that raised ``error`` (its message cut to 16 KiB)."""
    dumped = dump_exception(error)
    message = dumped["exception_message"]
    if len(message) > _MESSAGE_LIMIT:
        dumped["exception_message"] = message[:_MESSAGE_LIMIT] + " [cut]"
    return {"error": dict(dumped)}


def outcome_result(outcome: Any, registry: TypeRegistry, *, run_id: str, step: str) -> Any:
    """The value a journaled ``outcome`` returned, or raise the error it raised.

    Raises:
        BaseException: The journaled error, rebuilt (see the module docstring).
        ContextSerdeError: If the value names a class that is neither allowed nor imported.
    """
    if "error" in outcome:
        error = load_exception(outcome["error"], registry)
        if isinstance(error, UnreconstructedException):
            raise JournaledCallError(
                f"{error.original_type}: {error}",
                error_type=error.original_type or "",
                run_id=run_id,
                step_name=step,
            )
        raise error
    return load_value(outcome.get("value"), ImportedTypes(registry))


def check_same_call(
    journaled: str, made: str, number: int, *, run_id: str, step: str, key: str
) -> None:
    """Refuse a call that differs from the one journaled at its place.

    Raises:
        JournaledCallMismatchError: Naming both calls, when ``journaled != made``.
    """
    if journaled == made:
        return
    raise JournaledCallMismatchError(
        f"Step '{step}' (step key {key!r}) re-ran from its journal and made journaled call "
        f"#{number + 1} as {made!r}, but the journal holds {journaled!r} there: the step's "
        "code changed while the run was in flight. Deploy the code that started the run to "
        "finish it, or fork the run from before this step (Workflow.fork).",
        run_id=run_id,
        step_name=step,
    )


def call_summary(number: int, name: str, record: Any) -> str:
    """Words for a journaled call's tick in a run's history.

    Example:
        >>> call_summary(0, "llm", {"outcome": {"value": 3}})
        "call #1 'llm' returned"
        >>> call_summary(1, "child:Pay", {"outcome": {"child": "r:s:0:1"}})
        "call #2 'child:Pay' started child run 'r:s:0:1'"
    """
    outcome = record.get("outcome") if isinstance(record, dict) else None
    outcome = outcome if isinstance(outcome, dict) else {}
    what = f"call #{number + 1} {name!r}"
    child = outcome.get("child")
    if "error" in outcome:
        error = outcome["error"] if isinstance(outcome["error"], dict) else {}
        raised = str(error.get("exception_type", "?")).rsplit(".", 1)[-1]
        ending = f"raised {raised}"
    else:
        ending = "returned"
    if child is not None:
        if "error" not in outcome and "value" not in outcome:
            return f"{what} started child run {child!r}"
        return f"{what}: child run {child!r} {ending}"
    return f"{what} {ending}"


def parent_of(record: Any) -> str | None:
    """The parent run named in a start tick record's envelope metadata, if any.

    Example:
        >>> parent_of({"kind": "start", "env": {"v": 2, "meta": {"parent_run": "o-1"}}})
        'o-1'
    """
    env = record.get("env") if isinstance(record, dict) else None
    meta = env.get("meta") if isinstance(env, dict) else None
    parent = meta.get("parent_run") if isinstance(meta, dict) else None
    return parent if isinstance(parent, str) else None


class ImportedTypes(TypeRegistry):
    """``registry`` plus the pydantic models, enums and exceptions already imported here.

    A journaled result may be any model the step's code uses, which the workflow's signatures
    need not name; its module is imported by the time the step calls again, so resolving it
    from ``sys.modules`` runs no code the process did not already run.
    """

    __slots__ = ()

    def __init__(self, registry: TypeRegistry) -> None:
        super().__init__(registry)

    def resolve(self, name: str) -> type | None:
        """The allowed class called ``name``, or an imported model, enum or exception."""
        found = super().resolve(name)
        return found if found is not None else imported_class(name)


def imported_class(name: str) -> type | None:
    """The model, enum or exception class ``module.QualName`` if its module is imported."""
    module_name, _, qualname = name.rpartition(".")
    while module_name and module_name not in sys.modules:
        module_name, _, head = module_name.rpartition(".")
        qualname = f"{head}.{qualname}"
    module = sys.modules.get(module_name) if module_name else None
    if module is None:
        return None
    found: object = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
        if found is None:
            return None
    if isinstance(found, type) and issubclass(found, BaseModel | Enum | BaseException):
        return found
    return None
