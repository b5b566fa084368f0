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

__all__ = [
    "EMPTY_META",
    "LEGACY_TICK_SCHEMA",
    "TICK_SCHEMA",
    "Stamp",
    "TickEnvelope",
    "TickLog",
    "frozen_meta",
]

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
            object.__setattr__(self, "meta", frozen_meta(self.meta))


def frozen_meta(meta: Mapping[str, str]) -> Mapping[str, str]:
    """``meta`` as a read-only mapping a caller's later changes cannot reach.

    Example:
        >>> given = {"kind": "a"}
        >>> meta = frozen_meta(given)
        >>> given["kind"] = "b"
        >>> dict(meta)
        {'kind': 'a'}
    """
    if meta is EMPTY_META or isinstance(meta, MappingProxyType):
        return meta
    return MappingProxyType(dict(meta))  # frozen all the way down


Stamp = tuple[int, str, int, Mapping[str, str]]
"""What an envelope says beside its tick: ``(schema, writer, epoch, meta)``."""


class TickLog(Sequence[Tick]):
    """A run's envelopes in order, read as a sequence of its plain ticks.

    The driver keeps its log here: ``log.envelopes`` for stores, history and tracing, the log
    itself (``len``, indexing, iteration) wherever only the ticks matter. Each tick is kept
    beside its :data:`Stamp`, which consecutive ticks of one writer share, and an envelope is
    built only when one is read: recording a tick costs two list appends.

    Example:
        >>> from stepwork._core.ticks import TickTimer
        >>> log = TickLog()
        >>> log.append(TickEnvelope(TickTimer(1.0, "run")))
        >>> len(log), log[0].timer_id, log.envelopes[0].schema
        (1, 'run', 2)
    """

    __slots__ = ("_stamps", "_ticks", "start")

    def __init__(self, envelopes: Iterable[TickEnvelope] = (), start: int = 0) -> None:
        self._ticks: list[Tick] = []
        self._stamps: list[Stamp] = []
        self.start = start
        """The seq of the first envelope held: 0, or where the checkpoint a resumed run was
        rebuilt from ends (the ticks before it stay in the store)."""
        self.extend(envelopes)

    def add(self, tick: Tick, stamp: Stamp) -> None:
        """Add ``tick`` at the end, as written with ``stamp``."""
        self._ticks.append(tick)
        self._stamps.append(stamp)

    def append(self, envelope: TickEnvelope) -> None:
        """Add ``envelope`` at the end."""
        self._ticks.append(envelope.tick)
        self._stamps.append((envelope.schema, envelope.writer, envelope.epoch, envelope.meta))

    def extend(self, envelopes: Iterable[TickEnvelope]) -> None:
        """Add ``envelopes`` at the end, in order."""
        for envelope in envelopes:
            self.append(envelope)

    @property
    def envelopes(self) -> Sequence[TickEnvelope]:
        """The log as envelopes (a read-only view; each envelope is built as it is read)."""
        return _Envelopes(self._ticks, self._stamps)

    def __len__(self) -> int:
        return len(self._ticks)

    @overload
    def __getitem__(self, index: int) -> Tick: ...

    @overload
    def __getitem__(self, index: slice) -> list[Tick]: ...

    def __getitem__(self, index: int | slice) -> Tick | list[Tick]:
        return self._ticks[index]

    def __iter__(self) -> Iterator[Tick]:
        return iter(self._ticks)


class _Envelopes(Sequence[TickEnvelope]):
    """A :class:`TickLog` read as envelopes."""

    __slots__ = ("_stamps", "_ticks")

    def __init__(self, ticks: list[Tick], stamps: list[Stamp]) -> None:
        self._ticks = ticks
        self._stamps = stamps

    def __len__(self) -> int:
        return len(self._ticks)

    @overload
    def __getitem__(self, index: int) -> TickEnvelope: ...

    @overload
    def __getitem__(self, index: slice) -> list[TickEnvelope]: ...

    def __getitem__(self, index: int | slice) -> TickEnvelope | list[TickEnvelope]:
        if isinstance(index, slice):
            pairs = zip(self._ticks[index], self._stamps[index], strict=True)
            return [TickEnvelope(tick, *stamp) for tick, stamp in pairs]
        return TickEnvelope(self._ticks[index], *self._stamps[index])

    def __iter__(self) -> Iterator[TickEnvelope]:
        for tick, stamp in zip(self._ticks, self._stamps, strict=True):
            yield TickEnvelope(tick, *stamp)
