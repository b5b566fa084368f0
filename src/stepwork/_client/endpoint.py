"""Where a client sends its requests: the base URL and the headers every request carries.

Example:
    >>> endpoint = Endpoint("http://127.0.0.1:8000/api/", token="s3cret")
    >>> endpoint.url("/runs")
    'http://127.0.0.1:8000/api/runs'
    >>> endpoint.headers({"Accept": "text/event-stream"})["Authorization"]
    'Bearer s3cret'
    >>> endpoint  # never shows the token
    Endpoint('http://127.0.0.1:8000/api')
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["Endpoint"]


class Endpoint:
    """A server's base URL and the bearer token to present to it.

    Args:
        base_url: The server's URL, with any path prefix it is mounted under.
        token: The bearer token, when the server was started with one.
    """

    def __init__(self, base_url: str, *, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` (which starts with ``/``)."""
        return self.base_url + path

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The headers for a request: ``Accept``, ``Authorization`` when there is a token."""
        headers = {"Accept": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def __repr__(self) -> str:
        return f"Endpoint({self.base_url!r})"
