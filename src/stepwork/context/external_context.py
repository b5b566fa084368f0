"""Twin of ``workflows.context.external_context``.

stepwork has one ``Context`` class for every phase of a run (before it, the caller's side and
inside steps), so ``ExternalContext`` is that class: ``isinstance(handler.ctx, ExternalContext)``
holds.
"""

from stepwork._runtime.context import Context as ExternalContext

__all__ = ["ExternalContext"]
