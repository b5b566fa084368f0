"""Stamping ticks with their envelope: which process wrote them, under which lease epoch.

One id names this process for as long as it lives (a forked child gets its own). The epoch is
0 until runs are leased; the lease work sets :attr:`Stamper.epoch` on a run's stamper. Metadata
comes from an optional provider (trace context, for instance), called once per tick.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Mapping

from stepwork._core.envelope import EMPTY_META, TICK_SCHEMA, Stamp, TickEnvelope, frozen_meta
from stepwork._core.ticks import Tick

__all__ = ["MetaProvider", "Stamper", "process_writer_id"]

MetaProvider = Callable[[Tick], Mapping[str, str]]
"""Gives the metadata to put in a tick's envelope (e.g. ``{"traceparent": ...}``)."""

_writer: tuple[int, str] | None = None


def process_writer_id() -> str:
    """This process's writer id, ``"host:pid:random"``: the same for every tick it writes.

    The random part tells apart two processes that reuse a pid on one host; a forked child
    (a new pid) gets a new id.

    Example:
        >>> process_writer_id() == process_writer_id()
        True
    """
    global _writer
    pid = os.getpid()
    if _writer is None or _writer[0] != pid:
        _writer = (pid, f"{socket.gethostname()}:{pid}:{secrets.token_hex(4)}")
    return _writer[1]


class Stamper:
    """Wraps a run's ticks in envelopes as the driver records them.

    Args:
        writer: The writer id (this process's, by default).
        epoch: The lease epoch the run is written under (0: no lease).
        meta: Gives each tick's metadata; ``None`` for none.

    Example:
        >>> from stepwork._core.ticks import TickTimer
        >>> stamper = Stamper("h:1:ab", epoch=3)
        >>> envelope = stamper.stamp(TickTimer(1.0, "run"))
        >>> envelope.writer, envelope.epoch, stamper.stamp_of(envelope.tick)[1:3]
        ('h:1:ab', 3, ('h:1:ab', 3))
    """

    __slots__ = ("_epoch", "_plain", "_writer", "meta")

    def __init__(
        self, writer: str | None = None, epoch: int = 0, meta: MetaProvider | None = None
    ) -> None:
        self._writer = process_writer_id() if writer is None else writer
        self._epoch = epoch
        self.meta = meta
        # The stamp of every tick without metadata: one shared tuple, so stamping allocates nothing.
        self._plain: Stamp = (TICK_SCHEMA, self._writer, epoch, EMPTY_META)

    @property
    def writer(self) -> str:
        """The writer id every envelope names."""
        return self._writer

    @property
    def epoch(self) -> int:
        """The lease epoch every envelope names (0: no lease)."""
        return self._epoch

    @epoch.setter
    def epoch(self, epoch: int) -> None:
        self._epoch = epoch
        self._plain = (TICK_SCHEMA, self._writer, epoch, EMPTY_META)

    def stamp_of(self, tick: Tick) -> Stamp:
        """What ``tick``'s envelope says beside it: the writer, the epoch and the metadata
        ``meta`` gives for it (one shared tuple for every tick while ``meta`` is ``None``)."""
        if self.meta is None:
            return self._plain
        return (TICK_SCHEMA, self._writer, self._epoch, frozen_meta(self.meta(tick)))

    def stamp(self, tick: Tick) -> TickEnvelope:
        """``tick`` in an envelope naming this writer and epoch."""
        return TickEnvelope(tick, *self.stamp_of(tick))
