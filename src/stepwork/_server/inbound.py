"""Reading requests: JSON bodies into request models, and typed query parameters.

Every problem is a 422 ``ApiError`` naming the field: malformed JSON (including ``NaN`` and
``Infinity``, which JSON does not have), a body that is not an object, a model that does not
validate, a query value of the wrong type.

Example:
    >>> parse_json(b'{"at": 3}')
    {'at': 3}
    >>> try:
    ...     parse_json(b"NaN")
    ... except ApiError as error:
    ...     error.status
    422
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from stepwork._server.errors import ApiError, from_validation

__all__ = [
    "only_params",
    "parse_json",
    "query_bool",
    "query_float",
    "query_int",
    "read_model",
]

_M = TypeVar("_M", bound=BaseModel)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """The JSON value in ``raw`` (an empty body is ``{}``).

    Raises:
        ApiError: 422 if ``raw`` is not UTF-8 JSON.
    """
    if not raw.strip():
        return {}
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError as error:
        raise ApiError("invalid", f"The body is not UTF-8: {error}.") from None
    except json.JSONDecodeError as error:
        raise ApiError(
            "invalid",
            f"Malformed JSON body: {error.msg} at line {error.lineno} column {error.colno}.",
        ) from None
    except (ValueError, RecursionError) as error:
        raise ApiError("invalid", f"Malformed JSON body: {error}.") from None


async def read_model(request: Request, model: type[_M]) -> _M:
    """The request's JSON body as ``model``.

    Raises:
        ApiError: 422 if the body is not JSON, not an object, or does not validate (the
            error names the field).
    """
    value = parse_json(await request.body())
    if not isinstance(value, dict):
        raise ApiError("invalid", f"The body must be a JSON object, got {type(value).__name__}.")
    try:
        return model.model_validate(value)
    except ValidationError as error:
        raise from_validation(error) from None


def only_params(request: Request, *allowed: str) -> None:
    """Refuse query parameters the route does not take (a typo is an error, not a default).

    Raises:
        ApiError: 422 naming the first unknown parameter.
    """
    for name in request.query_params:
        if name not in allowed:
            takes = ", ".join(allowed) if allowed else "none"
            raise ApiError(
                "invalid", f"Unknown query parameter {name!r} (this route takes: {takes}).", name
            )


def query_int(request: Request, name: str, default: int | None, minimum: int) -> int | None:
    """Query parameter ``name`` as an integer of at least ``minimum``.

    Raises:
        ApiError: 422 if it is not such an integer.
    """
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError("invalid", f"{name} must be an integer, got {raw!r}.", name) from None
    if value < minimum:
        raise ApiError("invalid", f"{name} must be at least {minimum}, got {value}.", name)
    return value


def query_float(request: Request, name: str) -> float | None:
    """Query parameter ``name`` as a finite number (seconds since the epoch), if given.

    Raises:
        ApiError: 422 if it is not a finite number.
    """
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        raise ApiError("invalid", f"{name} must be a number, got {raw!r}.", name)
    return value


def query_bool(request: Request, name: str, default: bool) -> bool:
    """Query parameter ``name`` as a boolean (``true``/``false``, ``1``/``0``).

    Raises:
        ApiError: 422 for any other value.
    """
    raw = request.query_params.get(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ApiError("invalid", f"{name} must be true or false, got {raw!r}.", name)
