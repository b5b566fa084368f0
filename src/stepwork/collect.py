"""Fan-in policies for ``list[E]`` step parameters (``Collect(All())``, ``Collect(Take(n))``)."""

from stepwork._definition.collect import All, Cardinality, Collect, Take

__all__ = ["All", "Cardinality", "Collect", "Take"]
