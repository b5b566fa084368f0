"""The HTTP client's implementation; ``stepwork.client`` is its public face.

This package imports nothing itself, so its modules that do not need httpx (models, errors,
the SSE parser) import without the ``client`` extra.
"""

__all__: list[str] = []
