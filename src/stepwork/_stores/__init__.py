"""Stores layer: the JSON codec (and, later, the run journals)."""

__all__: list[str] = []
