"""Security headers on every answer: the page sets its own Content-Security-Policy, the rest
get one that allows nothing (an API answer is data, never a document to run).

Headers a route already set are kept, so the page's policy wins over the default.

Example:
    >>> sorted(SECURITY_HEADERS)
    ['content-security-policy', 'referrer-policy', 'x-content-type-options', 'x-frame-options']
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["API_POLICY", "SECURITY_HEADERS", "SecurityHeaders"]

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
"""The Content-Security-Policy of every answer that does not set its own."""

SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": API_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
"""The headers added to every answer (names in lower case, as ASGI carries them)."""

_ENCODED = [
    (name.encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items()
]


class SecurityHeaders:
    """Add :data:`SECURITY_HEADERS` to every HTTP answer that lacks them.

    Args:
        app: The application behind.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, adding the headers to the answer's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {bytes(name).lower() for name, _ in headers}
                headers.extend(item for item in _ENCODED if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
