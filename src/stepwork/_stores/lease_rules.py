"""What every store decides the same way about leases: the errors, and who may be claimed.

Invariants:
- A lease is free when it has no owner or ``lease_expires <= now``; only then is a run
  claimed, and every claim bumps the run's epoch, so a fenced writer holding the old epoch is
  refused (epochs alone fence: an expired lease nobody took over still writes).
- A run ended (any terminal status) has no timers and is never runnable.

Example:
    >>> lease_is_free(None, None, now=5.0), lease_is_free("w1", 9.0, now=5.0)
    (True, False)
"""

from __future__ import annotations

from collections.abc import Mapping

from stepwork._core.errors import LeaseLostError

__all__ = ["lease_is_free", "lease_lost", "renew_lost", "version_fits"]


def lease_is_free(owner: str | None, lease_expires: float | None, *, now: float) -> bool:
    """Whether a run whose row has ``owner`` and ``lease_expires`` may be claimed at ``now``."""
    return owner is None or lease_expires is None or lease_expires <= now


def version_fits(workflow: str, version: str | None, versions: Mapping[str, str] | None) -> bool:
    """Whether a claimer serving ``versions`` (workflow name -> version) may continue a run of
    ``workflow`` recorded with ``version`` (``None``: recorded before versions were).

    Example:
        >>> version_fits("a", "v1", {"a": "v2"}), version_fits("a", None, {"a": "v2"})
        (False, True)
    """
    if versions is None or version is None or workflow not in versions:
        return True
    return versions[workflow] == version


def lease_lost(run_id: str, epoch: int, stored_epoch: int | None) -> LeaseLostError:
    """The error for a fenced append at ``epoch`` refused because the run is at
    ``stored_epoch`` (``None``: the run does not exist)."""
    now_at = "no longer exists" if stored_epoch is None else f"is at epoch {stored_epoch}"
    return LeaseLostError(
        f"Cannot append to run {run_id!r} at lease epoch {epoch}: the run {now_at}, so another "
        "process has taken it over. Nothing was stored; this process must stop the run's work "
        "(the new owner continues it from the journal).",
        run_id=run_id,
    )


def renew_lost(run_id: str, owner: str, epoch: int) -> LeaseLostError:
    """The error for a renewal by ``owner`` at ``epoch`` that no longer holds the run."""
    return LeaseLostError(
        f"Cannot renew {owner!r}'s lease on run {run_id!r} (epoch {epoch}): another process "
        "claimed the run since, or the lease was released. Stop the run's work here; renew "
        "more often than the lease lasts (heartbeat < ttl) to keep a run.",
        run_id=run_id,
    )
