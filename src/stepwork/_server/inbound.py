"""Reading requests: JSON bodies into request models, and typed query parameters.

Every problem is a 422 ``ApiError`` naming the field: malformed JSON (including ``NaN`` and
``Infinity``, which JSON does not have), a number too large to be finite (``1e999``), a body
nested deeper than ``MAX_JSON_DEPTH`` (refused before it is parsed, so parsing never recurses
that deep), a body that is not an object, a model that does not validate, a query value of
the wrong type.

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
from stepwork._stores.finite import find_non_finite

__all__ = [
    "MAX_JSON_DEPTH",
    "json_too_deep",
    "non_finite_input",
    "only_params",
    "parse_json",
    "query_bool",
    "query_float",
    "query_int",
    "read_model",
]

_M = TypeVar("_M", bound=BaseModel)


MAX_JSON_DEPTH = 64
"""The deepest nesting of arrays and objects a request body may have (the body itself is 1)."""

_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_AS_PARENS = bytes.maketrans(b"[]{}", b"()()")


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text ``raw`` nests arrays and objects deeper than ``limit``.

    Linear and without parsing, in C-speed ``bytes`` operations: strings are cut out, and the
    brackets left are paired off one level per pass. Malformed text is left for the parser.

    Example:
        >>> json_too_deep(b'[[["]]]]]"]]]', 3), json_too_deep(b"[[[[1]]]]", 3)
        (False, True)
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    # Escaped backslashes, then escaped quotes, go first; then every other piece between
    # quotes is a string's contents.
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(raw.split(b'"')[::2])
    brackets = remaining = outside.translate(_AS_PARENS, delete=_NOT_BRACKETS)
    for _ in range(limit):
        inner = remaining.replace(b"()", b"")  # one level less, everywhere at once
        if not inner:
            return False
        if len(inner) == len(remaining):
            break  # unbalanced (malformed): count exactly below
        remaining = inner
    depth = 0
    for bracket in brackets:
        depth += 1 if bracket == 0x28 else -1
        if depth > limit:
            return True
    return False


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# A number is too large to be finite only with an exponent of three digits or more, or with
# over 308 digits; with every digit read as 0, those show as plain substrings.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_MANY_DIGITS = b"0" * 309


def _may_overflow(raw: bytes) -> bool:
    zeroed = raw.translate(_DIGITS_AS_ZERO)
    return b"000" in zeroed and (  # in every mark: most bodies stop here
        b"e000" in zeroed
        or b"E000" in zeroed
        or b"e+000" in zeroed
        or b"E+000" in zeroed
        or _MANY_DIGITS in zeroed
    )


def non_finite_input(value: Any, field: str) -> ApiError | None:
    """A 422 naming where ``value`` (request JSON, or an event built from it) holds NaN or an
    infinity, which no run can journal; ``field`` is prefixed to the path. ``None`` if none.

    Example:
        >>> non_finite_input({"x": [1, float("inf")]}, "input").field
        'input.x.1'
    """
    found = find_non_finite(value)
    if found is None:
        return None
    path, number = found
    where = ".".join(part for part in (field, path) if part) or None
    return ApiError(
        "invalid",
        f"{where or 'The body'}: {number!r} is not a finite number; JSON and the journal have "
        "no NaN or Infinity. Send a finite number (or null, or a string, where the field "
        "allows one).",
        where,
    )


def parse_json(raw: bytes) -> Any:
    """The JSON value in ``raw`` (an empty body is ``{}``).

    Raises:
        ApiError: 422 if ``raw`` is not UTF-8 JSON, nests deeper than ``MAX_JSON_DEPTH``, or
            holds a number too large to be finite (naming where).
    """
    if not raw.strip():
        return {}
    if json_too_deep(raw):
        raise ApiError(
            "invalid",
            f"The body nests arrays and objects more than {MAX_JSON_DEPTH} deep; flatten it.",
        )
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError as error:
        raise ApiError("invalid", f"The body is not UTF-8: {error}.") from None
    except json.JSONDecodeError as error:
        raise ApiError(
            "invalid",
            f"Malformed JSON body: {error.msg} at line {error.lineno} column {error.colno}.",
        ) from None
    except (ValueError, RecursionError) as error:
        raise ApiError("invalid", f"Malformed JSON body: {error}.") from None
    if _may_overflow(raw) and (refused := non_finite_input(value, "")) is not None:
        raise refused
    return value


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


MAX_QUERY_INT = 2**63 - 1
"""The largest integer a query parameter may hold: what the stores' 64-bit columns take."""


def query_int(request: Request, name: str, default: int | None, minimum: int) -> int | None:
    """Query parameter ``name`` as an integer of at least ``minimum`` (and at most
    :data:`MAX_QUERY_INT`).

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
    if value > MAX_QUERY_INT:
        raise ApiError("invalid", f"{name} must be at most {MAX_QUERY_INT}, got {value}.", name)
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
