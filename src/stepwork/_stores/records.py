"""Journal records as JSON text and back, and the numbering rule of appends.

Every store writes tick and event records as JSON text and reads them back through
:func:`decode_record`, so a row that was half-written, edited, or is not a record at all gives
the same :class:`JournalCorruptError` whatever the database.

Invariants:
- ``decode_record(encode_records(...)[i])`` equals the record appended (a JSON round trip).
- Encoding is ASCII and refuses what JSON cannot carry (NaN, infinities), so every stored row
  is standard JSON that PostgreSQL's ``jsonb`` would also accept.
- A tick record is a JSON object with a string ``kind``; an event record is a JSON object.

Example:
    >>> texts = encode_records("r", [{"kind": "timer", "at": 1.5}], "tick")
    >>> texts
    ['{"kind":"timer","at":1.5}']
    >>> decode_record("r", 0, texts[0], "tick")
    {'kind': 'timer', 'at': 1.5}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from stepwork._core.errors import JournalConflictError, JournalCorruptError, StoreError
from stepwork._stores.protocol import RunRecord

__all__ = [
    "RecordKind",
    "check_next",
    "check_numbers",
    "corrupt_record",
    "corrupt_run",
    "decode_record",
    "decode_value",
    "encode_records",
    "encode_value",
    "like_pattern",
    "matches_text",
    "remedy",
    "run_record",
]

RecordKind = Literal["tick", "event"]
"""Which journal a record belongs to: ticks are numbered by ``seq``, events by ``offset``."""

_NUMBER_NAME = {"tick": "seq", "event": "offset"}


def _where(run_id: str, number: int, kind: RecordKind) -> str:
    return f"run {run_id!r}, {kind} record {_NUMBER_NAME[kind]} {number}"


def encode_value(run_id: str, value: Any, what: str) -> str:
    """``value`` as compact JSON text.

    Args:
        run_id: The run the value belongs to (for the error).
        value: A JSON-ready value (dicts, lists, strings, finite numbers, booleans, ``None``).
        what: What the value is, for the error (``"result"``, ``"tick record seq 3"``).

    Raises:
        StoreError: If ``value`` is not JSON (names the run and ``what``).
    """
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise StoreError(
            f"Run {run_id!r}: the {what} is not JSON, so nothing was stored: {error}",
            run_id=run_id,
        ) from error


def encode_records(
    run_id: str, records: Iterable[dict[str, Any]], kind: RecordKind, first: int = 0
) -> list[str]:
    """Each record of ``records`` as JSON text, checked to be readable again.

    Args:
        run_id: The run appended to.
        records: Tick records (from ``dump_tick``) or event records (from ``dump_event``).
        kind: ``"tick"`` or ``"event"``.
        first: The seq or offset of the first record (for errors).

    Raises:
        StoreError: If a record is not a JSON object (with a string ``kind`` for ticks) or
            holds a value JSON cannot carry; names the run and the record.
    """
    texts = []
    for number, record in enumerate(records, first):
        if not isinstance(record, dict) or (
            kind == "tick" and not isinstance(record.get("kind"), str)
        ):
            need = "a JSON object with a string 'kind'" if kind == "tick" else "a JSON object"
            raise StoreError(
                f"{_where(run_id, number, kind).capitalize()} must be {need}, got "
                f"{str(record)[:120]!r}; nothing was stored.",
                run_id=run_id,
            )
        texts.append(encode_value(run_id, record, f"{kind} record {_NUMBER_NAME[kind]} {number}"))
    return texts


def decode_record(run_id: str, number: int, text: Any, kind: RecordKind) -> dict[str, Any]:
    """A stored record, read back from its JSON text.

    Args:
        run_id: The run read from.
        number: The record's seq (ticks) or offset (events).
        text: The stored text (``bytes`` are decoded as UTF-8).
        kind: ``"tick"`` or ``"event"``.

    Raises:
        JournalCorruptError: If the text is not JSON (e.g. half-written), not an object, or a
            tick record has no string ``kind``; the message names the run and the record.
    """
    try:
        if isinstance(text, bytes | bytearray | memoryview):
            text = bytes(text).decode("utf-8")
        record = json.loads(text)
    except (TypeError, ValueError) as error:
        raise corrupt_record(
            run_id,
            kind,
            number,
            f"it is not valid JSON (half-written?): {error}; stored text starts {str(text)[:80]!r}",
        ) from error
    if not isinstance(record, dict):
        raise corrupt_record(
            run_id, kind, number, f"expected a JSON object, got {type(record).__name__}"
        )
    if kind == "tick" and not isinstance(record.get("kind"), str):
        raise corrupt_record(
            run_id, kind, number, f"the record has no 'kind'; keys are {sorted(record)[:10]}"
        )
    return record


def remedy(run_id: str, kind: RecordKind, number: int) -> str:
    """What an operator can do about a bad record of run ``run_id``: the sentence errors end with.

    Example:
        >>> remedy("r", "tick", 3)[:46]
        "Fork the run from before it (Workflow.fork('r'"
    """
    delete = f"delete the run (Store.delete_run({run_id!r}))"
    if kind == "event":  # a fork publishes its events again from the copied ticks
        return (
            f"Fork the run (its events are published again from its ticks: POST "
            f"/runs/{run_id}/fork), or {delete}."
        )
    if number < 1:
        return f"Nothing before it can be forked: {delete[0].upper()}{delete[1:]}."
    return (
        f"Fork the run from before it (Workflow.fork({run_id!r}, at={number}) or POST "
        f"/runs/{run_id}/fork with at <= {number}), or {delete}."
    )


def corrupt_record(run_id: str, kind: RecordKind, number: int, problem: str) -> JournalCorruptError:
    """The error for record ``number`` of run ``run_id`` that is missing or cannot be read.

    Args:
        run_id: The run.
        kind: ``"tick"`` or ``"event"``.
        number: The record's seq (ticks) or offset (events).
        problem: What is wrong with it (no final full stop).

    Example:
        >>> str(corrupt_record("r", "event", 2, "it is missing"))[:62]
        "The journal is corrupt at run 'r', event record offset 2: it i"
    """
    return JournalCorruptError(
        f"The journal is corrupt at {_where(run_id, number, kind)}: {problem.rstrip('.')}. "
        f"{remedy(run_id, kind, number)}",
        run_id=run_id,
        record=kind,
        seq=number,
    )


def check_numbers(
    run_id: str,
    kind: RecordKind,
    numbers: Sequence[int],
    after: int,
    stored: int,
    limit: int | None = None,
) -> None:
    """Refuse a read whose records are not numbered ``after + 1``, ``after + 2``, ... on up to
    the run's stored count (or ``limit`` records): a record is missing (a deleted row) or one
    lies beyond what the run's row counts.

    Args:
        run_id: The run read.
        kind: ``"tick"`` or ``"event"``.
        numbers: The seqs or offsets read, in order.
        after: The read asked for numbers greater than this.
        stored: How many records the run's row counts.
        limit: The most records the read asked for, if it was limited.

    Raises:
        JournalCorruptError: Naming the first missing or unexpected number.

    Example:
        >>> try:
        ...     check_numbers("r", "tick", [0, 1, 3], -1, 4)
        ... except JournalCorruptError as error:
        ...     print(error.seq, str(error).split(": ")[1].split(". ")[0])
        2 it is missing (the records go from seq 1 to seq 3)
    """
    name = _NUMBER_NAME[kind]
    expected = max(after + 1, 0)
    previous = None
    for number in numbers:
        if number != expected:
            went = f"from {name} {previous} to" if previous is not None else "first to"
            raise corrupt_record(
                run_id, kind, expected, f"it is missing (the records go {went} {name} {number})"
            )
        previous, expected = number, expected + 1
    wanted = max(stored - max(after + 1, 0), 0)
    if limit is not None:
        wanted = min(wanted, max(limit, 0))
    if len(numbers) < wanted:
        raise corrupt_record(
            run_id,
            kind,
            expected,
            f"it is missing (the run's row counts {stored} {kind} records)",
        )
    if len(numbers) > wanted:
        raise corrupt_record(
            run_id,
            kind,
            stored,
            f"it is stored, but the run's row counts only {stored} {kind} records",
        )


def decode_value(run_id: str, text: str | None, what: str) -> Any:
    """A stored JSON value (a run's result or error), or ``None`` for SQL ``NULL``.

    Raises:
        JournalCorruptError: If the text is not valid JSON; names the run and ``what``.
    """
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError) as error:
        raise corrupt_run(run_id, f"its {what} is not valid JSON: {error}") from error


def corrupt_run(run_id: str, problem: str) -> JournalCorruptError:
    """The error for a run whose own row (status, result, error) cannot be read.

    Example:
        >>> corrupt_run("r", "its result is not valid JSON").record
        'run'
    """
    return JournalCorruptError(
        f"The journal is corrupt: the row of run {run_id!r} cannot be read: {problem}. Delete "
        f"the run (Store.delete_run({run_id!r})), or repair its row.",
        run_id=run_id,
        record="run",
    )


def run_record(
    run_id: str,
    workflow: str,
    status: str,
    created_at: float,
    updated_at: float,
    result: str | None,
    error: str | None,
    ticks: int,
    events: int,
    owner: str | None = None,
    lease_expires: float | None = None,
    epoch: int = 0,
    runnable_at: float | None = None,
    version: str | None = None,
    parent_run_id: str | None = None,
) -> RunRecord:
    """A run's stored row as a :class:`RunRecord`; a result or error that cannot be read
    makes a record with ``corrupt`` set (result and error ``None``) instead of raising, so
    one bad row never hides the other runs.

    Example:
        >>> run_record("r", "flow", "completed", 1.0, 2.0, "{oops", None, 3, 1).corrupt.record
        'run'
    """
    problem: JournalCorruptError | None = None
    try:
        loaded_result = decode_value(run_id, result, "result")
        loaded_error = decode_value(run_id, error, "error")
        if loaded_error is not None and not isinstance(loaded_error, dict):
            raise corrupt_run(
                run_id, f"its error is a JSON {type(loaded_error).__name__}, not an object"
            )
    except JournalCorruptError as caught:
        problem, loaded_result, loaded_error = caught, None, None
    return RunRecord(
        run_id=run_id,
        workflow=workflow,
        status=status,
        created_at=created_at,
        updated_at=updated_at,
        result=loaded_result,
        error=loaded_error,
        ticks=ticks,
        events=events,
        corrupt=problem,
        owner=owner,
        lease_expires=lease_expires,
        epoch=epoch,
        runnable_at=runnable_at,
        version=version,
        parent_run_id=parent_run_id,
    )


def check_next(run_id: str, name: str, first: int, stored: int, count: int) -> None:
    """Refuse an append whose numbers do not continue the stored ones.

    Args:
        run_id: The run appended to.
        name: ``"seq"`` or ``"offset"``.
        first: The first number in the batch.
        stored: How many records the run has (the next number).
        count: How many records the batch has; with none, any ``first`` is accepted.

    Raises:
        JournalConflictError: If ``first != stored`` (an overlap or a gap).
    """
    if count and first != stored:
        problem = "overlaps stored records" if first < stored else "leaves a gap"
        raise JournalConflictError(
            f"Cannot append to run {run_id!r}: {name} {first} {problem}; the next {name} is "
            f"{stored}. Nothing was stored (another process may be writing this run).",
            run_id=run_id,
        )


def like_pattern(text: str) -> str:
    """A ``LIKE`` pattern matching values that contain ``text`` (``%``, ``_`` and ``\\``
    escaped with a backslash; SQLite needs ``ESCAPE '\\'``, PostgreSQL's is the default).

    Example:
        >>> like_pattern("50%_a")
        '%50\\\\%\\\\_a%'
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matches_text(run_id: str, error: str | None, text: str) -> bool:
    """Whether a run's id or stored error contains ``text``, ignoring ASCII case, as the
    stores' ``list_runs(text=...)`` filter has it."""
    wanted = text.lower()
    return wanted in run_id.lower() or (error is not None and wanted in error.lower())
