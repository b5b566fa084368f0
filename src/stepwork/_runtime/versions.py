"""Workflow versions: which definition of a workflow started a run, and who may continue it.

A run records the version of the workflow that started it (``runs.version``). The version is
the one declared (``class Flow(Workflow): version = "2024-06"`` or ``Flow(version="2")``), else
a hash of the definition: every step's name, the event types it accepts and returns (by
qualified class name, not module, so a script run directly and imported agree), and its
configuration (workers, timeout, error handling). Changing a step's signature or config changes
the hash; changing only a step's body does not (declare a version when a body change must not
meet runs started by the old body).

A worker or server serving another version of a workflow does not continue its runs: workers
claim only runs of the versions they serve, and resuming one raises
:class:`~stepwork._core.errors.WorkflowVersionError` naming both versions. Runs stored before
versions were recorded (``version`` ``None``) are continued by any version.

Example:
    >>> from stepwork._runtime.definition import WorkflowDefinition
    >>> definition_version(WorkflowDefinition("empty", {}, {}, None, None, []))
    'sha-4f53cda18c2b'
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from stepwork._core.errors import WorkflowVersionError

if TYPE_CHECKING:
    from stepwork._runtime.definition import WorkflowDefinition
    from stepwork._stores.protocol import RunRecord

__all__ = ["check_version", "definition_version", "not_continued", "version_error"]


def _type_name(value: Any) -> str:
    # Not the module: a script run as ``__main__`` and imported by name must hash the same.
    return str(getattr(value, "__qualname__", repr(value)))


def definition_version(definition: WorkflowDefinition) -> str:
    """``sha-`` and 12 hex digits of a hash over the steps' names, types and configuration."""
    steps = []
    for name in sorted(definition.specs):
        spec = definition.specs[name]
        steps.append(
            {
                "name": name,
                "accepts": sorted(_type_name(t) for t in spec.input_types),
                "returns": sorted(_type_name(t) for t in spec.returns),
                "fan_out": sorted(_type_name(t) for t in spec.fan_out),
                "slots": [param for param, _ in spec.slots],
                "collect": spec.collect is not None,
                "num_workers": spec.num_workers,
                "accept_subclasses": spec.accept_subclasses,
                "timeout": spec.timeout,
                "catch_error": spec.catch_error,
                "catch_for": None if spec.catch_for is None else sorted(spec.catch_for),
                "max_recoveries": spec.max_recoveries,
            }
        )
    text = json.dumps(steps, sort_keys=True, separators=(",", ":"))
    return "sha-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def not_continued(record: RunRecord, serving: str) -> str | None:
    """Why a process serving version ``serving`` does not continue run ``record``: it is
    running and was started by another version; else ``None``."""
    if record.status != "running" or record.version in (None, serving):
        return None
    return (
        f"started by version {record.version!r}; this process serves version {serving!r}, "
        "so it does not continue the run"
    )


def version_error(record: RunRecord, serving: str) -> WorkflowVersionError:
    """The error refusing to continue ``record`` with version ``serving``."""
    return _error(record.run_id, record.workflow, record.version or "?", serving)


def check_version(run_id: str, workflow: str, recorded: str | None, serving: str) -> None:
    """Refuse to continue run ``run_id`` recorded with another version than ``serving``.

    Raises:
        WorkflowVersionError: If ``recorded`` is set and differs from ``serving``.
    """
    if recorded is None or recorded == serving:
        return
    raise _error(run_id, workflow, recorded, serving)


def _error(run_id: str, workflow: str, recorded: str, serving: str) -> WorkflowVersionError:
    return WorkflowVersionError(
        f"Run {run_id!r} was started by version {recorded!r} of workflow {workflow!r}; this "
        f"process serves version {serving!r}, so it does not continue the run. Let a worker "
        f"of version {recorded!r} finish it (run both versions side by side), or declare the "
        f"new definition compatible with version={recorded!r} (see docs/scale-out.md).",
        run_id=run_id,
        recorded=recorded,
        serving=serving,
    )
