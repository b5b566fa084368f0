"""What every store decides the same way about inbox messages: refusals, and reading rows.

Invariants:
- A message is stored only for a run that exists and is ``running``; an ended run's inbox is
  empty (its messages go when it ends: nobody would take them).
- A message's record is JSON text in SQL stores, read back with :func:`inbox_message`.

Example:
    >>> inbox_message(3, "r1", "event", '{"type": "Answer"}', "k1", 2.5, None).record
    {'type': 'Answer'}
"""

from __future__ import annotations

import json
from typing import Any

from stepwork._core.errors import JournalCorruptError, RunNotFoundError, WorkflowRuntimeError
from stepwork._stores.protocol import InboxMessage

__all__ = ["inbox_message", "no_such_run", "run_ended"]


def no_such_run(run_id: str) -> RunNotFoundError:
    """The error for a message to a run the store does not have."""
    return RunNotFoundError(
        f"No run {run_id!r} in this store: nothing was delivered. Check the run id.",
        run_id=run_id,
    )


def run_ended(run_id: str, status: str) -> WorkflowRuntimeError:
    """The error for a message to a run that has ended with ``status``."""
    return WorkflowRuntimeError(
        f"Run {run_id!r} has already finished ({status}): nothing was delivered. Start a new "
        "run (or fork this one) to go on.",
        run_id=run_id,
    )


def inbox_message(
    message_id: int,
    run_id: str,
    kind: str,
    record: str | dict[str, Any] | None,
    idempotency_key: str | None,
    at: float,
    step: str | None,
) -> InboxMessage:
    """An inbox row as a message (``record`` as JSON text or already decoded).

    Raises:
        JournalCorruptError: If the kind is unknown or the record is not a JSON object.
    """
    decoded: Any = record
    if isinstance(record, str):
        try:
            decoded = json.loads(record)
        except ValueError as error:
            raise _corrupt(run_id, message_id, f"its record is not JSON ({error})") from error
    if kind not in ("event", "cancel") or (kind == "event" and not isinstance(decoded, dict)):
        raise _corrupt(run_id, message_id, f"kind {kind!r} with record {record!r}")
    return InboxMessage(
        int(message_id),
        run_id,
        "event" if kind == "event" else "cancel",
        decoded,
        idempotency_key,
        float(at),
        step,
    )


def _corrupt(run_id: str, message_id: int, why: str) -> JournalCorruptError:
    return JournalCorruptError(
        f"Run {run_id!r}: inbox message {message_id} cannot be read: {why}. Delete that row "
        "from the inbox table to let the run go on.",
        run_id=run_id,
        record="inbox",
    )
