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

from stepwork._core.envelope import EMPTY_META, TickEnvelope
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
    """

    __slots__ = ("epoch", "meta", "writer")

    def __init__(
        self, writer: str | None = None, epoch: int = 0, meta: MetaProvider | None = None
    ) -> None:
        self.writer = process_writer_id() if writer is None else writer
        self.epoch = epoch
        self.meta = meta

    def stamp(self, tick: Tick) -> TickEnvelope:
        """``tick`` in an envelope naming this writer and epoch."""
        meta = EMPTY_META if self.meta is None else self.meta(tick)
        return TickEnvelope(tick, writer=self.writer, epoch=self.epoch, meta=meta)
