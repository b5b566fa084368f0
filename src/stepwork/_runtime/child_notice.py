"""The notice a child run's ending leaves in its parent's inbox (a worker fleet's children).

A child that a worker executes ends with a batch carrying ``JournalBatch.notify``: a
:class:`ChildEnded` event for the parent's inbox, stored in the same transaction as the
child's ending, keyed by :func:`ended_key`. The parent's step waits for it like
``ctx.wait_for_event`` would (``queued_children.py``), so a parent holds no worker slot and
no memory while its child runs, and its child's ending makes it claimable again.
"""

from __future__ import annotations

from stepwork._core.events import Event

__all__ = ["ChildEnded", "ended_key", "waiter_key"]


class ChildEnded(Event):
    """Child run ``run_id`` ended with ``status`` (delivered to its parent's inbox)."""

    run_id: str
    status: str


def ended_key(run_id: str) -> str:
    """The idempotency key of child ``run_id``'s ending notice.

    Example:
        >>> ended_key("o-1:pay:0:1")
        'child-ended:o-1:pay:0:1'
    """
    return f"child-ended:{run_id}"


def waiter_key(run_id: str) -> str:
    """The waiter id under which a parent's step waits for child ``run_id``'s ending.

    Example:
        >>> waiter_key("o-1:pay:0:1")
        'child:o-1:pay:0:1'
    """
    return f"child:{run_id}"
