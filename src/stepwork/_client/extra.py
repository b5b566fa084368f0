"""The client's one optional dependency, httpx: imported here so that its absence is explained,
and its transport errors turned into ours.

``import stepwork`` never imports httpx; ``import stepwork.client`` does, and when httpx is not
installed it fails with :class:`~stepwork._client.errors.ClientExtraMissingError` (an
``ImportError``) naming ``pip install 'stepwork[client]'``.
"""

from __future__ import annotations

from stepwork._client.errors import (
    ClientConnectionError,
    ClientExtraMissingError,
    ClientTimeoutError,
    StepworkClientError,
)

try:
    import httpx
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ClientExtraMissingError(
        "stepwork.client needs httpx, which is not installed: run pip install 'stepwork[client]'."
    ) from error

__all__ = ["httpx", "transport_error"]


def transport_error(
    error: httpx.TransportError, what: str, run_id: str | None = None
) -> StepworkClientError:
    """The client error for an httpx transport failure while doing ``what``.

    Returns:
        ``ClientTimeoutError`` for a timeout, else ``ClientConnectionError``.

    Example:
        >>> transport_error(httpx.ConnectError("refused"), "GET /health")
        ClientConnectionError("GET /health: ConnectError('refused')")
    """
    if isinstance(error, httpx.TimeoutException):
        return ClientTimeoutError(f"{what}: timed out ({error!r})", run_id=run_id)
    return ClientConnectionError(f"{what}: {error!r}", run_id=run_id)
