"""What the driver needs of the workflow whose steps it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from stepwork._runtime.resources import ResourceManager

__all__ = ["StepOwner"]


class StepOwner(Protocol):
    """What the driver needs of the workflow whose steps it runs (``Workflow`` is one).

    The steps are methods: the workflow is also passed to them as ``self``.
    """

    @property
    def workflow_name(self) -> str:
        """The name the workflow's runs are journaled and observed under."""
        ...

    @property
    def verbose(self) -> bool:
        """True to print each step's start and end."""
        ...

    @property
    def resource_manager(self) -> ResourceManager:
        """Where the steps' ``Resource`` values are cached."""
        ...
