"""A typed HTTP client for a stepwork server, async and sync (extra ``client``: httpx).

``AsyncClient`` and ``Client`` have the same methods: start, run and wait for runs, stream their
events (reconnecting from the last offset when a connection drops), send events into them (a
human's answer), cancel, list, look at history and fork. Failures raise the
``StepworkClientError`` subclass for the HTTP status, carrying the server's message.

Importing this module needs httpx; without it the import fails with ``ClientExtraMissingError``
(an ``ImportError``) naming ``pip install 'stepwork[client]'``. See ``docs/client.md``.

Example:
    >>> from stepwork.client import Client, NotFoundError, StepworkClientError
    >>> issubclass(NotFoundError, StepworkClientError)
    True
"""

from stepwork._client.async_client import AsyncClient
from stepwork._client.async_stream import AsyncEventStream
from stepwork._client.errors import (
    ClientConnectionError,
    ClientExtraMissingError,
    ClientTimeoutError,
    ConflictError,
    InvalidRequestError,
    JournalCorruptClientError,
    NotFoundError,
    RequestTooLargeError,
    RunFailedError,
    ServerError,
    StepworkClientError,
    UnauthorizedError,
    UnavailableError,
)
from stepwork._client.follow import ReconnectPolicy
from stepwork._client.models import (
    ChildRun,
    EventEnvelope,
    HistoryEntry,
    RunError,
    RunInfo,
    RunStatus,
    WorkflowInfo,
)
from stepwork._client.sync_client import Client
from stepwork._client.sync_stream import EventStream

__all__ = [
    "AsyncClient",
    "AsyncEventStream",
    "ChildRun",
    "Client",
    "ClientConnectionError",
    "ClientExtraMissingError",
    "ClientTimeoutError",
    "ConflictError",
    "EventEnvelope",
    "EventStream",
    "HistoryEntry",
    "InvalidRequestError",
    "JournalCorruptClientError",
    "NotFoundError",
    "ReconnectPolicy",
    "RequestTooLargeError",
    "RunError",
    "RunFailedError",
    "RunInfo",
    "RunStatus",
    "ServerError",
    "StepworkClientError",
    "UnauthorizedError",
    "UnavailableError",
    "WorkflowInfo",
]

# Public names for the classes exported here (see ``stepwork._core.public_names``).
import sys as _sys

from stepwork._core.public_names import publish_imported as _publish_imported

_publish_imported(_sys.modules)
