"""Errors the HTTP client raises: one per kind of failure the server reports, and two of its own.

    StepworkError
    └── StepworkClientError          an HTTP call failed: ``status``, ``code``, server's message
        ├── UnauthorizedError        401: missing or wrong bearer token
        ├── NotFoundError            404: no such workflow, run or route
        ├── ConflictError            409: the run id exists, or the run has already finished
        │   └── JournalCorruptClientError  the run's journal is damaged (``journal_corrupt``,
        │                            an answer or a stream's error frame): ``record``, ``seq``
        ├── RequestTooLargeError     413: the request body is over the server's limit
        ├── InvalidRequestError      (also a ValueError) 422: bad input; ``field`` names it
        ├── ServerError              5xx: the server failed
        ├── ClientConnectionError    (also a ConnectionError) cannot reach the server, or an
        │                            event stream dropped more often than allowed
        ├── ClientTimeoutError       (also a TimeoutError) a request or ``wait()`` took too long
        ├── ClientExtraMissingError  (also an ImportError) httpx is not installed
        └── RunFailedError           a run ended failed, timed out or cancelled
                                     (``RunInfo.raise_for_error()``); carries the step's traceback

Example:
    >>> error = error_from_response(404, {"error": {"code": "not_found", "message": "no run r1"}})
    >>> type(error).__name__, error.status, error.code, str(error)
    ('NotFoundError', 404, 'not_found', 'no run r1')
"""

from __future__ import annotations

from typing import Any

from stepwork._core.errors import StepworkError

__all__ = [
    "ClientConnectionError",
    "ClientExtraMissingError",
    "ClientTimeoutError",
    "ConflictError",
    "InvalidRequestError",
    "JournalCorruptClientError",
    "NotFoundError",
    "RequestTooLargeError",
    "RunFailedError",
    "ServerError",
    "StepworkClientError",
    "UnauthorizedError",
    "UnavailableError",
    "error_from_response",
]


class StepworkClientError(StepworkError):
    """An HTTP call to a stepwork server failed.

    Args:
        message: The server's message (or what the client saw).
        status: The HTTP status code, when there was a response.
        code: The server's error code (``not_found``, ``conflict``, ``invalid``, ...).
        field: The request field at fault, when the server named one.
        run_id: The run concerned, when there is one.
    """

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        field: str | None = None,
        run_id: str | None = None,
    ) -> None:
        super().__init__(message, run_id=run_id)
        self.status = status
        self.code = code
        self.field = field

    def __reduce__(self) -> tuple[object, ...]:
        # The base class rebuilds from (message, run_id, step_name) only; keep our attributes.
        return (
            _rebuild,
            (type(self), str(self), self.status, self.code, self.field, self.run_id),
        )


def _rebuild(
    cls: type[StepworkClientError],
    message: str,
    status: int | None,
    code: str | None,
    field: str | None,
    run_id: str | None,
) -> StepworkClientError:
    return cls(message, status=status, code=code, field=field, run_id=run_id)


class UnauthorizedError(StepworkClientError):
    """401: the server wants a bearer token and got none or a wrong one."""


class NotFoundError(StepworkClientError):
    """404: no workflow, run or route by that name."""


class ConflictError(StepworkClientError):
    """409: the run id is taken, or the run has already finished."""


class JournalCorruptClientError(ConflictError):
    """409 ``journal_corrupt``: the run's journal has a missing or unreadable record, or its
    row cannot be read. Raised by any call about that run, and by a stream that met the
    damage (it does not reconnect). The message says what to do (fork from an earlier tick,
    or delete the run).

    Attributes:
        record: ``"tick"``, ``"event"`` or ``"run"`` (its row), when the server said.
        seq: The damaged tick's seq or event's offset, when there is one.
    """

    record: str | None = None
    seq: int | None = None

    def __reduce__(self) -> tuple[object, ...]:
        rebuilt = super().__reduce__()
        return (_rebuild_corrupt, (rebuilt, self.record, self.seq))


def _rebuild_corrupt(
    rebuilt: tuple[Any, tuple[Any, ...]], record: str | None, seq: int | None
) -> StepworkClientError:
    error = rebuilt[0](*rebuilt[1])
    assert isinstance(error, JournalCorruptClientError)
    error.record, error.seq = record, seq
    return error


class RequestTooLargeError(StepworkClientError):
    """413: the request body is larger than the server accepts."""


class InvalidRequestError(StepworkClientError, ValueError):
    """422: the request does not validate; ``field`` names the field when the server knows it."""


class ServerError(StepworkClientError):
    """5xx: the server failed while handling the request."""


class UnavailableError(ServerError):
    """503: the server could not store the request (its journal cannot be written) or is
    shutting down. Nothing was acknowledged: retry it later, with the same run id or
    idempotency key so that the retry takes effect once."""


class ClientConnectionError(StepworkClientError, ConnectionError):
    """The server could not be reached, or a stream dropped more often than allowed."""


class ClientTimeoutError(StepworkClientError, TimeoutError):
    """A request, or waiting for a run to end, took longer than its timeout."""


class ClientExtraMissingError(StepworkClientError, ImportError):
    """The client needs httpx, which is not installed: ``pip install 'stepwork[client]'``."""


class RunFailedError(StepworkClientError):
    """A run ended with an error: it failed, timed out or was cancelled.

    Raised by ``RunInfo.raise_for_error()``. ``str()`` gives the run, the step, the error's
    type and message and, when a step raised, the step's traceback as the server journaled it.

    Args:
        message: The run's error message.
        run_id: The run.
        step_name: The step that raised, when one did.
        error_type: The class name of the run's error (``ValueError``, ``WorkflowTimeoutError``).
        traceback: The step's formatted traceback, when a step raised and the server kept it.
        status: The run's status (``failed``, ``timed_out`` or ``cancelled``).

    Example:
        >>> error = RunFailedError("boom", run_id="r1", step_name="explode",
        ...                        error_type="ValueError", traceback="(the frames)")
        >>> print(error)
        run 'r1' failed in step 'explode': ValueError: boom
        (the frames)
        >>> error.traceback
        '(the frames)'
    """

    def __init__(
        self,
        message: str = "",
        *,
        run_id: str | None = None,
        step_name: str | None = None,
        error_type: str = "",
        traceback: str | None = None,
        status: str = "failed",
    ) -> None:
        super().__init__(message, run_id=run_id)
        self.step_name = step_name
        self.error_type = error_type
        self.traceback = traceback
        self.run_status = status

    def __str__(self) -> str:
        message = super().__str__()
        where = f" in step {self.step_name!r}" if self.step_name else ""
        verb = {"timed_out": "timed out", "cancelled": "was cancelled"}.get(
            self.run_status, "failed"
        )
        kind = f"{self.error_type}: " if self.error_type else ""
        text = f"run {self.run_id!r} {verb}{where}: {kind}{message}"
        if self.traceback:
            text += "\n" + self.traceback.rstrip()
        return text

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_run_failed,
            (
                Exception.__str__(self),
                self.run_id,
                self.step_name,
                self.error_type,
                self.traceback,
                self.run_status,
            ),
        )


def _rebuild_run_failed(
    message: str,
    run_id: str | None,
    step_name: str | None,
    error_type: str,
    traceback: str | None,
    status: str,
) -> RunFailedError:
    return RunFailedError(
        message,
        run_id=run_id,
        step_name=step_name,
        error_type=error_type,
        traceback=traceback,
        status=status,
    )


_BY_STATUS: dict[int, type[StepworkClientError]] = {
    401: UnauthorizedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: InvalidRequestError,
    503: UnavailableError,
}


def error_from_response(
    status: int, body: Any, *, text: str = "", run_id: str | None = None
) -> StepworkClientError:
    """The client error for an HTTP error response.

    Args:
        status: The response's status code (400 or more).
        body: The decoded JSON body, or ``None`` when it was not JSON.
        text: The raw body, used as the message when ``body`` has no error message.
        run_id: The run the request concerned, if any.

    Returns:
        An instance of the subclass for ``status`` (``UnavailableError`` for 503,
        ``ServerError`` for any other 5xx, the base class for other statuses), carrying the
        server's message, code and field.

    Example:
        >>> body = {"error": {"code": "invalid", "message": "bad", "field": "input.text"}}
        >>> error = error_from_response(422, body)
        >>> isinstance(error, InvalidRequestError), error.field
        (True, 'input.text')
    """
    detail = body.get("error") if isinstance(body, dict) else None
    code = message = field = None
    if isinstance(detail, dict):
        code = _text(detail.get("code"))
        message = _text(detail.get("message"))
        field = _text(detail.get("field"))
    if not message:
        message = text.strip() or f"HTTP {status}"
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else StepworkClientError)
    if code == "journal_corrupt":
        corrupt = JournalCorruptClientError(
            message, status=status, code=code, field=field, run_id=run_id
        )
        assert isinstance(detail, dict)  # a code was read from it
        corrupt.run_id = _text(detail.get("run_id")) or run_id
        corrupt.record = _text(detail.get("record"))
        seq = detail.get("seq")
        corrupt.seq = seq if type(seq) is int else None
        return corrupt
    return cls(message, status=status, code=code, field=field, run_id=run_id)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
