"""JSON error bodies: every failure the API reports has the same shape.

``{"error": {"code": ..., "message": ..., "field": ...}}``; the code is one of
``not_found``, ``conflict``, ``journal_corrupt``, ``invalid``, ``unauthorized``, ``forbidden``,
``too_large``, ``unsupported_media_type``, ``unavailable`` and ``internal``, each with one HTTP
status (see ``STATUS_OF``). A ``journal_corrupt`` error also names the damaged record: ``run_id``,
``record`` (``tick``, ``event`` or ``run``) and ``seq`` (the tick's seq or the event's offset,
``null`` for a run row).

Example:
    >>> error = ApiError("not_found", "No workflow 'nope'.")
    >>> error.status, error.body()
    (404, {'error': {'code': 'not_found', 'message': "No workflow 'nope'.", 'field': None}})
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from stepwork._core.errors import (
    JournalConflictError,
    JournalCorruptError,
    RunNotFoundError,
    StoreError,
)
from stepwork._runtime.observe_logs import stepwork_logger
from stepwork._server.schemas import ErrorCode

__all__ = [
    "STATUS_OF",
    "ApiError",
    "ErrorCode",
    "JsonResponse",
    "error_response",
    "exception_handlers",
    "from_corrupt",
    "from_validation",
]


STATUS_OF: dict[str, int] = {
    "not_found": 404,
    "conflict": 409,
    "journal_corrupt": 409,
    "invalid": 422,
    "unauthorized": 401,
    "forbidden": 403,
    "too_large": 413,
    "unsupported_media_type": 415,
    "unavailable": 503,
    "internal": 500,
}
"""The HTTP status of each error code."""

_log = stepwork_logger("stepwork.server")


class JsonResponse(Response):
    """A JSON response rendered compactly and strictly (no NaN; anything else as ``repr``)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """``content`` as compact UTF-8 JSON."""
        return json.dumps(
            content, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=repr
        ).encode("utf-8")


class ApiError(Exception):
    """An error the API reports as a JSON body with the status of its code.

    Args:
        code: The error code (``not_found``, ``conflict``, ...).
        message: What went wrong, for people.
        field: The request field at fault (dotted, e.g. ``input.topic``), if one is.
        details: More keys for the error object (what a ``journal_corrupt`` error names).
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.field = field
        self.details = details or {}

    @property
    def status(self) -> int:
        """The HTTP status code."""
        return STATUS_OF[self.code]

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        error = {"code": self.code, "message": self.message, "field": self.field}
        return {"error": {**error, **self.details}}


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> JsonResponse:
    """The response for ``error``."""
    return JsonResponse(error.body(), status_code=error.status, headers=headers)


def from_corrupt(
    error: JournalCorruptError, field: str | None = None, context: str = ""
) -> ApiError:
    """A 409 ``journal_corrupt`` naming the damaged record of ``error`` (its message after
    ``context``, which says what could not be done).

    Example:
        >>> from_corrupt(JournalCorruptError("gone", run_id="r", record="tick", seq=2)).body()
        {'error': {'code': 'journal_corrupt', 'message': 'gone', 'field': None, 'run_id': 'r', \
'record': 'tick', 'seq': 2}}
    """
    details = {"run_id": error.run_id, "record": error.record, "seq": error.seq}
    return ApiError("journal_corrupt", f"{context}{error}", field, details)


def from_validation(error: ValidationError, prefix: str = "") -> ApiError:
    """A 422 naming the first field pydantic refused (``prefix`` is put before its path).

    Example:
        >>> from pydantic import BaseModel
        >>> class Body(BaseModel):
        ...     at: int
        >>> try:
        ...     Body.model_validate({"at": "x"})
        ... except ValidationError as exc:
        ...     from_validation(exc, "body").field
        'body.at'
    """
    first = error.errors(include_url=False)[0]
    parts = [prefix] if prefix else []
    parts.extend(str(part) for part in first["loc"])
    field = ".".join(parts) or None
    where = f"{field}: " if field else ""
    return ApiError("invalid", f"{where}{first['msg']}", field)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error = ApiError("not_found", f"No route {request.method} {request.url.path}.")
        return error_response(error)
    if exc.status_code == 405:
        body = ApiError("not_found", f"{request.method} is not allowed on {request.url.path}.")
        return JsonResponse(body.body(), status_code=405, headers=exc.headers)
    return JsonResponse(
        ApiError("invalid", str(exc.detail)).body(),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _corrupt(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, JournalCorruptError)
    return error_response(from_corrupt(exc))


async def _internal(request: Request, exc: Exception) -> Response:
    _log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    error = ApiError("internal", f"Internal error: {type(exc).__name__}. The server logged it.")
    return error_response(error)


async def _store_failed(request: Request, exc: Exception) -> Response:
    # A store that cannot answer (a lost database, a full disk) is unavailable, not broken:
    # 503 and one log line. A conflict is a conflict; an unreadable record stays internal.
    if isinstance(exc, JournalConflictError):
        return error_response(ApiError("conflict", str(exc)))
    if not isinstance(exc, StoreError) or isinstance(exc, JournalCorruptError | RunNotFoundError):
        return await _internal(request, exc)
    _log.error("%s %s: the store failed: %s", request.method, request.url.path, exc)
    error = ApiError(
        "unavailable", "The store could not be reached or written (the server logged why); retry."
    )
    return error_response(error)


def exception_handlers() -> dict[Any, Any]:
    """Starlette exception handlers that turn every failure into a JSON error body."""
    return {
        ApiError: _api_error,
        HTTPException: _http_error,
        JournalCorruptError: _corrupt,  # a damaged run is that run's 409, wherever it is met
        StoreError: _store_failed,
        Exception: _internal,
    }
