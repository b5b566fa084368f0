"""The workflows a server serves: their names, their store, and the events they accept.

Every served workflow journals to the server's store. A workflow built without a store is
given the server's; one already given a store by a server (an earlier app in the same
process) is moved to the new one; one built with a store of its own is refused, since its runs
would not be where the server looks. A workflow built without ``workflow_name`` is renamed to
the name it is served under, so its journal names it the same way whichever module layout
imported it, and ``resume_all`` finds its runs after a restart.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from stepwork._core.errors import ServerConfigurationError
from stepwork._core.events import Event, InternalDispatchEvent
from stepwork._runtime.snapshot import registry_for
from stepwork._runtime.workflow import Workflow
from stepwork._server.errors import ApiError, from_validation
from stepwork._server.inbound import non_finite_input
from stepwork._server.shapes import workflow_info
from stepwork._stores.protocol import Store
from stepwork._stores.type_registry import TypeRegistry

__all__ = ["ServedWorkflow", "serve_workflows"]

# Workflows whose store a server assigned, so that a later server may assign its own.
_ASSIGNED: weakref.WeakSet[Workflow] = weakref.WeakSet()


@dataclass
class ServedWorkflow:
    """One workflow as the server serves it.

    Attributes:
        name: The name it is served under (``/workflows/{name}``).
        workflow: The workflow instance whose runs the server starts.
        registry: The event and state classes its runs may name (``registry_for``).
        info: Its ``WorkflowInfo`` (computed once).
    """

    name: str
    workflow: Workflow
    registry: TypeRegistry
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def journal_name(self) -> str:
        """The name its runs are journaled under (``Workflow.workflow_name``)."""
        return self.workflow.workflow_name

    def event(self, type_name: str, data: dict[str, Any], where: str) -> Event:
        """Build the event ``{"type": type_name, "data": data}`` for a run of this workflow.

        The class is looked up by name among the workflow's own events (its steps' events,
        the ``Event`` classes of its module and the framework's); ``where`` prefixes the field
        named in errors (``""``, ``events.0``).

        Raises:
            ApiError: 422 if no such event class exists, ``data`` does not validate, or the
                event holds NaN or an infinity (naming the field).
        """
        prefix = f"{where}." if where else ""
        cls = self.registry.resolve(type_name)
        if not (isinstance(cls, type) and issubclass(cls, Event)) or issubclass(
            cls, InternalDispatchEvent
        ):
            raise ApiError(
                "invalid",
                f"Workflow '{self.name}' has no event type {type_name!r}.",
                f"{prefix}type",
            )
        try:
            event = cls(**data)
        except ValidationError as error:
            raise from_validation(error, f"{prefix}data") from None
        except (TypeError, ValueError) as error:
            raise ApiError("invalid", f"{prefix}data: {error}", f"{prefix}data") from None
        if (refused := non_finite_input(event, f"{prefix}data")) is not None:
            raise refused  # e.g. "nan" in a float field: no run could journal it
        return event


def _named(workflows: Mapping[str, Workflow] | Sequence[Workflow]) -> list[tuple[str, Workflow]]:
    if isinstance(workflows, Mapping):
        return [(str(name), workflow) for name, workflow in workflows.items()]
    return [(workflow.given_name or type(workflow).__name__, workflow) for workflow in workflows]


def serve_workflows(
    workflows: Mapping[str, Workflow] | Sequence[Workflow], store: Store
) -> dict[str, ServedWorkflow]:
    """Check ``workflows``, give each the server's ``store``, and describe them by name.

    Raises:
        ServerConfigurationError: If a name is empty or used twice, a value is not a
            ``Workflow`` instance, one instance is served twice, two workflows journal under
            one name, or a workflow has a store of its own.
    """
    served: dict[str, ServedWorkflow] = {}
    journal_names: dict[str, str] = {}
    for name, workflow in _named(workflows):
        if not isinstance(workflow, Workflow):
            raise ServerConfigurationError(
                f"Workflow {name!r} is {type(workflow).__name__}, not a Workflow instance "
                "(serve MyFlow(), not MyFlow)."
            )
        if not name or "/" in name:
            raise ServerConfigurationError(
                f"Workflow name {name!r} must be non-empty and contain no '/'."
            )
        if name in served:
            raise ServerConfigurationError(f"Two workflows are served as {name!r}.")
        if any(other.workflow is workflow for other in served.values()):
            raise ServerConfigurationError(
                f"The same workflow instance is served twice (as {name!r})."
            )
        _give_store(name, workflow, store)
        workflow.adopt_name(name)
        journal_name = workflow.workflow_name
        if journal_name in journal_names:
            raise ServerConfigurationError(
                f"Workflows {journal_names[journal_name]!r} and {name!r} both journal as "
                f"{journal_name!r}; give them distinct workflow_name= values."
            )
        journal_names[journal_name] = name
        entry = ServedWorkflow(name, workflow, registry_for(workflow))
        entry.info = workflow_info(name, workflow)
        served[name] = entry
    return served


def _give_store(name: str, workflow: Workflow, store: Store) -> None:
    own = workflow.store
    if own is None or own is store or workflow in _ASSIGNED:
        workflow.use_store(store)
        _ASSIGNED.add(workflow)
        return
    raise ServerConfigurationError(
        f"Workflow {name!r} journals to its own store ({own!r}), but the server journals "
        "every run to its store so it can list, stream and resume them. Build the workflow "
        "without store=, or pass that store to create_app(store=...)."
    )
