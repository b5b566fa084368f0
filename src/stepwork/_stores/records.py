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
from collections.abc import Iterable
from typing import Any, Literal

from stepwork._core.errors import JournalConflictError, JournalCorruptError, StoreError

__all__ = [
    "RecordKind",
    "check_next",
    "decode_record",
    "decode_value",
    "encode_records",
    "encode_value",
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
        raise JournalCorruptError(
            f"The journal is corrupt at {_where(run_id, number, kind)}: it is not valid JSON "
            f"(half-written?): {error}; stored text starts {str(text)[:80]!r}.",
            run_id=run_id,
        ) from error
    if not isinstance(record, dict):
        raise JournalCorruptError(
            f"The journal is corrupt at {_where(run_id, number, kind)}: expected a JSON "
            f"object, got {type(record).__name__}.",
            run_id=run_id,
        )
    if kind == "tick" and not isinstance(record.get("kind"), str):
        raise JournalCorruptError(
            f"The journal is corrupt at {_where(run_id, number, kind)}: the record has no "
            f"'kind'; keys are {sorted(record)[:10]}.",
            run_id=run_id,
        )
    return record


def decode_value(run_id: str, text: str | None, what: str) -> Any:
    """A stored JSON value (a run's result or error), or ``None`` for SQL ``NULL``.

    Raises:
        JournalCorruptError: If the text is not valid JSON; names the run and ``what``.
    """
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as error:
        raise JournalCorruptError(
            f"The journal is corrupt: the {what} of run {run_id!r} is not valid JSON: {error}",
            run_id=run_id,
        ) from error


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
