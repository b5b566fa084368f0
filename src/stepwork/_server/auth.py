"""Two ASGI middlewares in front of every route: bearer-token auth and the body-size limit.

Auth compares the presented token with ``hmac.compare_digest`` (constant time). ``GET
/health`` is open, so probes need no secret, and so is ``GET /``, the web page: it is static
and holds no data (a browser cannot send a bearer header when it opens a page; the page asks
for the token and sends it with each request).

A token must be something a header can carry and a person meant: :func:`check_token` refuses
an empty one, surrounding whitespace (HTTP strips it, so it could never match) and characters
outside printable ASCII.

The body limit answers 413 before the route runs, from ``Content-Length`` when the client
sends one, else by counting the bytes as they arrive; bodies within the limit are buffered
and handed to the route unchanged.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stepwork._core.errors import ServerConfigurationError
from stepwork._server.errors import ApiError, error_response

__all__ = ["OPEN_PATHS", "BearerAuth", "BodyLimit", "check_token", "header"]

OPEN_PATHS = frozenset({"/health", "/"})
"""Paths served without a token."""


def check_token(token: str | None) -> None:
    """Refuse a token that would turn auth on with no real secret, or that no header carries.

    Raises:
        ServerConfigurationError: If ``token`` is empty, has surrounding whitespace, or holds
            a character other than printable ASCII.

    Example:
        >>> check_token("s3cret")
        >>> check_token("")
        Traceback (most recent call last):
        ...
        stepwork.errors.ServerConfigurationError: The token is empty: ...
    """
    if token is None:
        return
    if not token.strip():
        raise ServerConfigurationError(
            "The token is empty: an empty token would require an empty secret. Give a real "
            "one (token='...', stepwork serve --token-file PATH or $STEPWORK_TOKEN), or none "
            "to serve without auth."
        )
    if token != token.strip():
        raise ServerConfigurationError(
            "The token has whitespace around it (a trailing newline from a file?); HTTP strips "
            "it from headers, so no request could match. Strip the token."
        )
    if not all(" " <= char <= "~" for char in token):
        raise ServerConfigurationError(
            "The token holds characters other than printable ASCII, which an Authorization "
            "header cannot carry; use letters, digits and punctuation."
        )


def header(scope: Scope, name: bytes) -> bytes | None:
    """The raw value of request header ``name`` (lower-case) in ASGI ``scope``, or ``None``."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            found: bytes = value
            return found
    return None


class BearerAuth:
    """Refuse requests without ``Authorization: Bearer <token>`` (401), except open paths.

    Args:
        app: The application behind.
        token: The expected token; ``None`` lets every request through.
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self._token = token.encode("utf-8") if token is not None else None

    def allowed(self, scope: Scope) -> bool:
        """True if the request carries the token (or needs none)."""
        if self._token is None or scope.get("path") in OPEN_PATHS:
            return True
        authorization = header(scope, b"authorization") or b""
        scheme, _, presented = authorization.partition(b" ")
        # Compared even when the scheme is wrong, so timing says nothing about the token.
        same = hmac.compare_digest(presented.strip(), self._token)
        return same and scheme.lower() == b"bearer"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 401."""
        if scope["type"] != "http" or self.allowed(scope):
            await self.app(scope, receive, send)
            return
        error = ApiError("unauthorized", "A valid 'Authorization: Bearer <token>' is required.")
        response = error_response(error, headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)


class BodyLimit:
    """Answer 413 to requests whose body is over ``max_bytes``.

    Args:
        app: The application behind.
        max_bytes: The largest body accepted.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer the body (refusing it once too large) and pass the request on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit():
            if int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client left before sending its body: nothing to answer.
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        buffered: list[Message] = [{"type": "http.request", "body": b"".join(chunks)}]

        async def replay() -> Message:
            if buffered:
                return buffered.pop()
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = ApiError("too_large", f"The request body is over {self.max_bytes} bytes.")
        response: Any = error_response(error, headers={"Connection": "close"})
        await response(scope, receive, send)
