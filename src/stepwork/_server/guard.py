"""What keeps web pages out of a server that has no token: the ``Host`` and cross-site checks.

A server without a token trusts whoever can reach it, which on loopback is meant to be the
person at the machine. Two things let a web page that person visits reach it too, and this
middleware refuses both:

- **DNS rebinding**: a page on ``evil.example`` points that name at 127.0.0.1 and reads the
  answers as same-origin. Its requests carry ``Host: evil.example``, so only ``Host`` values a
  rebinding cannot produce are served: ``localhost``, IP addresses (a page cannot rebind an
  address), and the names in the allow-list. The port is not compared: rebinding is about the
  name. Requests without a ``Host`` come from no browser and are served.
- **Cross-site requests** (CSRF): any page can make the browser POST ``text/plain``, a form or
  a blob to the server. A state-changing request (POST, PUT, PATCH, DELETE) is refused when its
  ``Origin`` is present and is not the server's own (the ``Host`` it was sent to), or when it
  has a body whose ``Content-Type`` is not ``application/json`` (a browser sends that type
  cross-site only after a CORS preflight, which this server never grants).

With a token these checks are off: a browser never attaches a bearer header by itself, so
a foreign page cannot use the API, and tokened clients (curl, proxies) keep working whatever
their ``Host`` or ``Content-Type``. The ``Host`` check still applies when an allow-list is given.

Example:
    >>> host_allowed("LocalHost:8000", ()), host_allowed("[::1]", ()), host_allowed("10.0.0.7", ())
    (True, True, True)
    >>> host_allowed("evil.example:8000", ()), host_allowed("box.lan:81", ("box.lan:80",))
    (False, False)
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from stepwork._core.errors import ServerConfigurationError
from stepwork._server.auth import header
from stepwork._server.errors import ApiError, error_response

__all__ = ["BrowserGuard", "check_allowed_hosts", "host_allowed", "is_loopback", "same_origin"]

_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}
_JSON = "application/json"
_HOST_CACHE_SIZE = 256


def _split_host(value: str) -> tuple[str, str | None]:
    """``(name, port)`` of a ``Host`` value, the name lower-cased (``[::1]`` keeps brackets)."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value.partition("]")
        port = rest[1:] if rest.startswith(":") else None
        return name + "]", port
    name, colon, port = value.rpartition(":")
    if not colon or not port.isdigit():
        return value, None
    return name, port


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name[1:-1] if name.startswith("[") else name)
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """True if listening on ``host`` (``--host``) is reachable from this machine only."""
    name = host.strip().lower().strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_allowed_hosts(hosts: Sequence[str]) -> tuple[str, ...]:
    """The allow-list, normalised (lower case), each entry a name or ``name:port``.

    Raises:
        ServerConfigurationError: If an entry is empty, has a scheme or a path, or is a
            bare string (``"box.lan"`` given as ``allowed_hosts="box.lan"``).
    """
    if isinstance(hosts, str):
        raise ServerConfigurationError(
            f"allowed_hosts must be a list of names, got the string {hosts!r}; "
            f"write allowed_hosts=[{hosts!r}]."
        )
    normalised = []
    for entry in hosts:
        cleaned = str(entry).strip().lower()
        if not cleaned or "/" in cleaned or "@" in cleaned or " " in cleaned:
            raise ServerConfigurationError(
                f"Allowed host {entry!r} must be a host name or name:port (such as "
                "'box.lan' or 'box.lan:8000'), without a scheme or path; '*' allows any."
            )
        normalised.append(cleaned)
    return tuple(normalised)


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """True if a request with ``Host: host`` may be served (see the module docstring)."""
    name, port = _split_host(host)
    if name == "localhost" or _is_address(name) or "*" in allowed:
        return True
    return name in allowed or (port is not None and f"{name}:{port}" in allowed)


def same_origin(origin: str, host: str) -> bool:
    """True if ``Origin: origin`` is the origin of a request sent to ``Host: host``."""
    parts = urlsplit(origin.strip().lower())
    if not parts.scheme or not parts.netloc or parts.path not in ("", "/"):
        return False  # "null" (sandboxed frames, file: pages) and anything odd
    default = _DEFAULT_PORTS.get(parts.scheme)

    def canonical(name: str, port: str | None) -> tuple[str, str | None]:
        return name, None if port == default else port

    return canonical(*_split_host(parts.netloc)) == canonical(*_split_host(host))


def _header(scope: Scope, name: bytes) -> str | None:
    value = header(scope, name)
    return None if value is None else value.decode("latin-1")


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    chunked = _header(scope, b"transfer-encoding") is not None
    return chunked or (length is not None and length.strip() not in ("", "0"))


class BrowserGuard:
    """Refuse foreign ``Host`` names (403) and cross-site state changes (403, 415).

    Args:
        app: The application behind.
        token_set: Whether the server needs a bearer token (then only the ``Host`` check
            applies, and only when ``allowed_hosts`` is given).
        allowed_hosts: Extra ``Host`` names (``name`` or ``name:port``; ``"*"`` for any), or
            ``None`` for none.
    """

    def __init__(
        self, app: ASGIApp, *, token_set: bool, allowed_hosts: Sequence[str] | None
    ) -> None:
        self.app = app
        self.allowed = tuple(allowed_hosts or ())
        self.check_host = not token_set or allowed_hosts is not None
        self.check_site = not token_set
        # Decisions by Host value: clients send the same few, and parsing one costs more than
        # the rest of the checks. Bounded, since the values come from clients.
        self._hosts: dict[str, bool] = {}

    def _host_allowed(self, host: str) -> bool:
        known = self._hosts.get(host)
        if known is None:
            known = host_allowed(host, self.allowed)
            if len(self._hosts) < _HOST_CACHE_SIZE:
                self._hosts[host] = known
        return known

    def refusal(self, scope: Scope) -> ApiError | None:
        """Why the request is refused, or ``None`` to serve it."""
        host = _header(scope, b"host")
        if self.check_host and host is not None and not self._host_allowed(host):
            return ApiError(
                "forbidden",
                f"Host {host!r} is not served: without a token this server answers only "
                "localhost, IP addresses and the names it is told (stepwork serve "
                "--allow-host NAME, create_app(allowed_hosts=[...])); this guards against "
                "DNS rebinding.",
                "Host",
            )
        if not self.check_site or scope.get("method") not in _STATE_CHANGING:
            return None
        origin = _header(scope, b"origin")
        if origin is not None and not same_origin(origin, host or ""):
            return ApiError(
                "forbidden",
                f"Origin {origin!r} is not this server's: without a token, pages of other "
                "sites cannot change runs. Start the server with a token to call it from "
                "another origin.",
                "Origin",
            )
        content_type = _header(scope, b"content-type")
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        if media_type != _JSON and (content_type is not None or _has_body(scope)):
            shown = repr(content_type) if content_type is not None else "missing"
            return ApiError(
                "unsupported_media_type",
                f"Content-Type is {shown}: send the body as 'Content-Type: {_JSON}' (curl: "
                "--json '{...}', or -H 'Content-Type: application/json'). Without a token "
                "other types are refused, so that web pages cannot send them cross-site.",
                "Content-Type",
            )
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 403 or 415."""
        error = self.refusal(scope) if scope["type"] == "http" else None
        if error is None:
            await self.app(scope, receive, send)
            return
        await error_response(error)(scope, receive, send)
