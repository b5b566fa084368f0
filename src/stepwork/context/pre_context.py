"""Twin of ``workflows.context.pre_context``.

stepwork has one ``Context`` class for every phase of a run (before it, the caller's side and
inside steps), so ``PreContext`` is that class: ``isinstance(handler.ctx, PreContext)``
holds.
"""

from stepwork._runtime.context import Context as PreContext

__all__ = ["PreContext"]
