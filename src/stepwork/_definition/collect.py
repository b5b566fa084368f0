"""Fan-in policies for ``list[E]`` step parameters: ``Collect(All())`` and ``Collect(Take(n))``.

Example:
    >>> from typing import Annotated
    >>> from stepwork import Collect, Take
    >>> marker = Collect(Take(2))
    >>> marker.cardinality.n
    2
"""

from __future__ import annotations

from dataclasses import dataclass

from stepwork._core.errors import WorkflowValidationError

__all__ = ["All", "Cardinality", "Collect", "Take"]


class Cardinality:
    """Base of the fan-in policies a ``Collect`` accepts."""


@dataclass(frozen=True)
class All(Cardinality):
    """Fire once the fan-out stream closes, with every member that reached the step."""


@dataclass(frozen=True)
class Take(Cardinality):
    """Fire on the ``n``-th arrival with the first ``n`` members (or fewer if the stream closes).

    Raises:
        ValueError: If ``n`` is not an integer of at least 1.
    """

    n: int

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"Take(n) needs an integer n >= 1, got {self.n!r}.")


@dataclass(frozen=True)
class Collect:
    """Marks a ``list[E]`` parameter's fan-in policy: ``Annotated[list[E], Collect(...)]``.

    Raises:
        WorkflowValidationError: If ``cardinality`` is not ``All()`` or ``Take(n)``.
    """

    cardinality: Cardinality = All()

    def __post_init__(self) -> None:
        if not isinstance(self.cardinality, All | Take):
            raise WorkflowValidationError(
                f"Collect() takes All() or Take(n), got {self.cardinality!r}."
            )

    @property
    def take(self) -> int | None:
        """The ``n`` of ``Take(n)``, or ``None`` for ``All()``."""
        return self.cardinality.n if isinstance(self.cardinality, Take) else None
