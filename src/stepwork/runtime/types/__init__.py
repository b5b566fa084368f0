"""Twin of ``workflows.runtime.types``: see :mod:`stepwork.runtime.types.internal_state`."""

__all__: list[str] = []
