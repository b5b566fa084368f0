"""A minimal keep-alive HTTP/1.1 client on asyncio streams, for load tests.

httpx spends about a millisecond of CPU per request, so a single-process httpx driver is the
bottleneck long before the server is; this client does only what the load test needs (JSON
bodies with ``Content-Length``, chunked streams) and costs a few tens of microseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Connection", "HTTPStatusError"]


class HTTPStatusError(RuntimeError):
    """A stream answered with a status other than 200 (its body has been read)."""

    def __init__(self, path: str, status: int, body: Any) -> None:
        super().__init__(f"GET {path}: {status} {body!r}")
        self.status = status
        self.body = body


class Connection:
    """One persistent connection to ``url``'s host and port."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def close(self) -> None:
        """Close the connection."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _send(self, method: str, path: str, body: Any) -> tuple[int, dict[str, str]]:
        reader, writer = await self._open()
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(payload)}\r\n"
        )
        if body is not None:
            head += "Content-Type: application/json\r\n"
        writer.write(head.encode() + b"\r\n" + payload)
        status_line = await reader.readline()
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        return status, headers

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send a request; the status and the decoded JSON body (text if it is not JSON)."""
        status, headers = await self._send(method, path, body)
        return status, await self._body(headers)

    async def _body(self, headers: dict[str, str]) -> Any:
        reader, _ = await self._open()
        if "content-length" in headers:
            raw = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            raw = b"".join([chunk async for chunk in self._chunks(reader)])
        else:  # 204 and the like: no body
            raw = b""
        if headers.get("connection") == "close":
            await self.close()
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode(errors="replace")

    async def stream_lines(self, path: str) -> AsyncIterator[bytes]:
        """GET ``path`` and yield the lines of its chunked body until the stream ends.

        Raises ``HTTPStatusError`` (after reading the body) when the status is not 200.
        """
        status, headers = await self._send("GET", path, None)
        if status != 200:
            raise HTTPStatusError(path, status, await self._body(headers))
        reader, _ = await self._open()
        pending = b""
        async for chunk in self._chunks(reader):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line
        if headers.get("connection") == "close":
            await self.close()

    @staticmethod
    async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                return
            yield data[:-2]
