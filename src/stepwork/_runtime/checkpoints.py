"""Checkpoints of durable runs: taking them while journaling, and folding from them on resume.

Every ``every`` ticks (``$STEPWORK_CHECKPOINT_EVERY``, default :data:`DEFAULT_EVERY`) the batch
that crosses the boundary also stores the run's folded state as of its last tick, in the same
transaction and fenced by the same epoch. Resuming (a restart, a takeover, ``load_context``)
loads the latest checkpoint and folds only the ticks after it; a checkpoint that cannot be used
is logged and the run is folded from its first tick instead, never continued from a guess.

History, replay, forks and traces read every tick: ticks are never dropped for a checkpoint.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stepwork._core.errors import (
    JournalCorruptError,
    StateSerializationError,
    WorkflowConfigurationError,
)
from stepwork._core.ticks import Tick, TickEvent
from stepwork._stores.checkpoint_codec import dump_checkpoint, load_checkpoint_state

if TYPE_CHECKING:
    from stepwork._core.state import RunState
    from stepwork._stores.protocol import Checkpoint, Store
    from stepwork._stores.type_registry import TypeRegistry

__all__ = [
    "DEFAULT_EVERY",
    "CheckpointTaker",
    "Restored",
    "checkpoint_every",
    "restore_checkpoint",
    "usable_checkpoint",
]

DEFAULT_EVERY = 1000
"""Ticks between two checkpoints of a run, unless ``$STEPWORK_CHECKPOINT_EVERY`` says."""

_log = logging.getLogger("stepwork.checkpoints")


def checkpoint_every(value: str | None = None) -> int:
    """Ticks between checkpoints: ``value``, else ``$STEPWORK_CHECKPOINT_EVERY``, else
    :data:`DEFAULT_EVERY`; ``0`` turns checkpoints off.

    Raises:
        WorkflowConfigurationError: If the setting is not a whole number of 0 or more.

    Example:
        >>> checkpoint_every("250"), checkpoint_every("0")
        (250, 0)
    """
    text = value if value is not None else os.environ.get("STEPWORK_CHECKPOINT_EVERY")
    if text is None or not text.strip():
        return DEFAULT_EVERY
    try:
        every = int(text)
    except ValueError:
        every = -1
    if every < 0:
        raise WorkflowConfigurationError(
            f"STEPWORK_CHECKPOINT_EVERY must be a whole number of ticks (0 turns checkpoints "
            f"off), got {text!r}."
        )
    return every


@dataclass
class CheckpointTaker:
    """Decides which journal batches carry a checkpoint, and builds it.

    Attributes:
        every: Ticks between checkpoints (0: never).
        sent: Idempotency keys of the events sent into the run so far (checkpoints carry
            them, so a retried send still counts once after a resume from a checkpoint).
    """

    every: int = field(default_factory=checkpoint_every)
    sent: set[str] = field(default_factory=set)
    _failed: bool = False

    def note(self, record: dict[str, Any]) -> None:
        """Remember what a checkpoint must carry from a tick record being staged."""
        if record["kind"] == "event":
            key = record.get("idempotency_key")
            if key is not None:
                self.sent.add(key)

    def note_tick(self, tick: Tick) -> None:
        """Remember what a checkpoint must carry from a tick folded on resume."""
        if type(tick) is TickEvent and tick.idempotency_key is not None:
            self.sent.add(tick.idempotency_key)

    def take(self, state: RunState, first_seq: int, count: int) -> Checkpoint | None:
        """A checkpoint for the batch of ``count`` ticks from ``first_seq``, when it crosses a
        multiple of ``every``; ``state`` must have folded exactly those ticks and all before."""
        end = first_seq + count
        every = self.every
        if every <= 0 or self._failed or end // every == first_seq // every:
            return None
        if state.tick_count != end:  # not the state of this batch's last tick: never store it
            return None
        try:
            return dump_checkpoint(state, end - 1, self.sent)
        except StateSerializationError as error:
            self._failed = True  # the run goes on; resuming it folds every tick
            _log.warning(
                "Run %r is not checkpointed: its state cannot be written as JSON (%s)",
                state.run_id,
                error,
            )
            return None


@dataclass(frozen=True)
class Restored:
    """A run's state as a checkpoint left it.

    Attributes:
        state: The state after the checkpoint's tick.
        seq: The seq of that tick: fold the ticks after it.
        sent: Idempotency keys of the events sent in up to it.
        record: The checkpoint record (to fold a prefix of the tail onto a fresh copy).
    """

    state: RunState
    seq: int
    sent: frozenset[str]
    record: dict[str, Any]


async def restore_checkpoint(
    store: Store, run_id: str, registry: TypeRegistry, specs: Collection[str]
) -> Restored | None:
    """The run's latest usable checkpoint, or ``None`` (none stored, or it cannot be used:
    logged as a warning; the caller then folds every tick)."""
    try:
        checkpoint = await store.load_checkpoint(run_id)
    except JournalCorruptError as error:
        _log.warning("%s", error)
        return None
    return usable_checkpoint(run_id, checkpoint, registry, specs)


def usable_checkpoint(
    run_id: str, checkpoint: Checkpoint | None, registry: TypeRegistry, specs: Collection[str]
) -> Restored | None:
    """``checkpoint`` (read already) restored, or ``None`` (none, or it cannot be used: logged
    as a warning; the caller then folds every tick)."""
    if checkpoint is None:
        return None
    try:
        state, sent = load_checkpoint_state(run_id, checkpoint, registry, specs)
    except JournalCorruptError as error:
        _log.warning("%s", error)
        return None
    return Restored(state, checkpoint.seq, frozenset(sent), checkpoint.record)


def reload(restored: Restored, registry: TypeRegistry, specs: Sequence[str]) -> RunState:
    """A fresh copy of a restored checkpoint's state (the reducer changes states in place)."""
    from stepwork._stores.protocol import Checkpoint

    state, _ = load_checkpoint_state(
        restored.state.run_id, Checkpoint(restored.seq, restored.record), registry, specs
    )
    return state
