"""Twin of ``workflows.context.internal_context``.

stepwork has one ``Context`` class for every phase of a run (before it, the caller's side and
inside steps), so ``InternalContext`` is that class: ``isinstance(handler.ctx, InternalContext)``
holds.
"""

from stepwork._runtime.context import Context as InternalContext

__all__ = ["InternalContext"]
