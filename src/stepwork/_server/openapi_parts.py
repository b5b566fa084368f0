"""The pieces the OpenAPI document is built from: one :class:`Operation` per route, and
:func:`param` for its parameters (``openapi.py`` assembles them; route families with many
operations, such as schedules, list theirs in a module of their own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

__all__ = ["Operation", "param"]


@dataclass(frozen=True)
class Operation:
    """One route of the API as the document describes it.

    Attributes:
        method: HTTP method (lower case).
        path: Path template.
        operation_id: Unique id of the operation.
        summary: One line.
        ok: Success status, model (``None`` for a body that is not JSON) and description.
        description: The operation's rules, in 1-3 sentences (Markdown).
        errors: Error statuses it may return besides those every operation may (401 for
            secured operations, 413, 500; 422 for those that check their query).
        body: The request body model, if any.
        parameters: OpenAPI parameter objects.
        media: Media types of a non-JSON success body, each with its schema.
        secured: Whether the bearer token is needed (when the server has one).
        also_ok: Further success statuses (same model) and their descriptions.
        error_text: Descriptions of error statuses that say more than the generic ones.
        checks_query: Whether unknown query parameters are refused (422).
    """

    method: str
    path: str
    operation_id: str
    summary: str
    ok: tuple[int, type[BaseModel] | None, str]
    description: str
    errors: tuple[int, ...] = ()
    body: type[BaseModel] | None = None
    parameters: tuple[dict[str, Any], ...] = ()
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    secured: bool = True
    also_ok: dict[int, str] = field(default_factory=dict)
    error_text: dict[int, str] = field(default_factory=dict)
    checks_query: bool = True


def param(name: str, where: str, schema: dict[str, Any], text: str, **more: Any) -> dict[str, Any]:
    """An OpenAPI parameter object: ``name`` in ``where`` (path, query, header)."""
    return {"name": name, "in": where, "schema": schema, "description": text, **more}
