"""The envelope every tick travels in: who wrote it, under which lease, in which format.

The reducer sees plain ticks; stores, history, tracing and drawings may read the envelope.

Invariants:
- An envelope is immutable, and so is its ``meta`` (a read-only mapping of strings).
- ``schema`` is the tick record format the writer used. Records written before envelopes
  existed read as schema 1; this version writes :data:`TICK_SCHEMA`, and refuses to read a
  record of a newer schema rather than guess at what it means.
- ``writer`` and ``epoch`` describe the process that appended the tick, never the tick itself:
  folding ``[envelope.tick for envelope in log]`` rebuilds the run whoever wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import overload

from stepwork._core.ticks import Tick

__all__ = ["EMPTY_META", "LEGACY_TICK_SCHEMA", "TICK_SCHEMA", "TickEnvelope", "TickLog"]

#: Schema version of the tick records this version writes.
TICK_SCHEMA = 2
#: Schema version of a record written without an envelope (stepwork before the envelope).
LEGACY_TICK_SCHEMA = 1

#: The metadata of an envelope that carries none.
EMPTY_META: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class TickEnvelope:
    """A tick with the facts about how it was written.

    Attributes:
        tick: The tick itself, what the reducer folds.
        schema: The tick record format (:data:`TICK_SCHEMA` for ticks written today, 1 for
            records written before envelopes existed).
        writer: Id of the process that wrote it (``"host:pid:random"``), ``""`` when unknown.
        epoch: Lease epoch of the writer; 0 when it was written without a lease.
        meta: Free string metadata, e.g. ``{"traceparent": ...}``; read-only.

    Example:
        >>> from stepwork._core.ticks import TickTimer
        >>> envelope = TickEnvelope(TickTimer(1.5, "run"), writer="h:1:ab")
        >>> envelope.schema, envelope.epoch, dict(envelope.meta)
        (2, 0, {})
    """

    tick: Tick
    schema: int = TICK_SCHEMA
    writer: str = ""
    epoch: int = 0
    meta: Mapping[str, str] = field(default_factory=lambda: EMPTY_META)

    def __post_init__(self) -> None:
        if self.meta is not EMPTY_META and not isinstance(self.meta, MappingProxyType):
            # Frozen means frozen all the way down: a caller's dict must not change it later.
            object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))


class TickLog(Sequence[Tick]):
    """A run's envelopes in order, read as a sequence of its plain ticks.

    The driver keeps its log here: ``log.envelopes`` for stores, history and tracing, the log
    itself (``len``, indexing, iteration) wherever only the ticks matter.

    Example:
        >>> from stepwork._core.ticks import TickTimer
        >>> log = TickLog()
        >>> log.append(TickEnvelope(TickTimer(1.0, "run")))
        >>> len(log), log[0].timer_id, log.envelopes[0].schema
        (1, 'run', 2)
    """

    __slots__ = ("envelopes", "start")

    def __init__(self, envelopes: Iterable[TickEnvelope] = (), start: int = 0) -> None:
        self.envelopes: list[TickEnvelope] = list(envelopes)
        self.start = start
        """The seq of the first envelope held: 0, or where the checkpoint a resumed run was
        rebuilt from ends (the ticks before it stay in the store)."""

    def append(self, envelope: TickEnvelope) -> None:
        """Add ``envelope`` at the end."""
        self.envelopes.append(envelope)

    def extend(self, envelopes: Iterable[TickEnvelope]) -> None:
        """Add ``envelopes`` at the end, in order."""
        self.envelopes.extend(envelopes)

    def __len__(self) -> int:
        return len(self.envelopes)

    @overload
    def __getitem__(self, index: int) -> Tick: ...

    @overload
    def __getitem__(self, index: slice) -> list[Tick]: ...

    def __getitem__(self, index: int | slice) -> Tick | list[Tick]:
        if isinstance(index, slice):
            return [envelope.tick for envelope in self.envelopes[index]]
        return self.envelopes[index].tick

    def __iter__(self) -> Iterator[Tick]:
        return (envelope.tick for envelope in self.envelopes)
