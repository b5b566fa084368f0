"""Which run a run was started from: the parent link a child run's journal carries.

``ctx.run_workflow`` / ``ctx.start_workflow`` launch the child with :data:`PARENT_RUN` set;
the launcher then stamps the child's start tick with ``{"parent_run": <parent run id>}`` in
its envelope's metadata, so the child's journal (its history, its drawings) names its parent.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from types import MappingProxyType

from stepwork._core.envelope import EMPTY_META
from stepwork._core.ticks import Tick, TickStart
from stepwork._runtime.envelopes import MetaProvider

__all__ = ["PARENT_META_KEY", "PARENT_RUN", "parent_meta"]

PARENT_RUN: ContextVar[str | None] = ContextVar("stepwork_parent_run", default=None)
"""The parent's run id while a child run is being launched."""

#: The envelope metadata key of a child's start tick that names its parent run.
PARENT_META_KEY = "parent_run"


def parent_meta(parent: str) -> MetaProvider:
    """Metadata naming ``parent`` on a run's start ticks, nothing on its other ticks.

    Example:
        >>> from stepwork._core.ticks import TickCancel
        >>> meta = parent_meta("order-1")
        >>> dict(meta(TickStart(0.0, "c", None, None))), dict(meta(TickCancel(1.0)))
        ({'parent_run': 'order-1'}, {})
    """
    stamped: Mapping[str, str] = MappingProxyType({PARENT_META_KEY: parent})

    def provide(tick: Tick) -> Mapping[str, str]:
        return stamped if type(tick) is TickStart else EMPTY_META

    return provide
