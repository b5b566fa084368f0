"""Reading SSE and NDJSON streams in tests, and waiting for a run to reach a state."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Frame:
    """One SSE frame, or a comment (``comment`` set, the rest empty)."""

    id: str | None = None
    event: str | None = None
    data: str | None = None
    comment: str | None = None

    @property
    def envelope(self) -> dict[str, Any]:
        assert self.data is not None
        value: dict[str, Any] = json.loads(self.data)
        return value


class _Frames:
    """Turns a stream's lines, one at a time, into SSE frames and comments."""

    def __init__(self) -> None:
        self.frame = Frame()

    def feed(self, line: str) -> Frame | None:
        if line.startswith(":"):
            return Frame(comment=line[1:].strip())
        if line:
            key, _, value = line.partition(":")
            setattr(self.frame, key, value.removeprefix(" "))
            return None
        done, self.frame = self.frame, Frame()
        return done if done.data is not None else None


def parse_sse(lines: Iterable[str]) -> Iterator[Frame]:
    """SSE frames and comments from a stream's lines, as they arrive."""
    frames = _Frames()
    for line in lines:
        if (frame := frames.feed(line)) is not None:
            yield frame


async def aparse_sse(lines: AsyncIterator[str]) -> AsyncIterator[Frame]:
    """:func:`parse_sse` for an async stream."""
    frames = _Frames()
    async for line in lines:
        if (frame := frames.feed(line)) is not None:
            yield frame


def read_events(http: httpx.Client, run_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every envelope of a run's SSE stream until it ends."""
    with http.stream("GET", f"/runs/{run_id}/events", params=params) as response:
        assert response.status_code == 200, response.read()
        return [f.envelope for f in parse_sse(response.iter_lines()) if f.comment is None]


def wait_for_status(
    http: httpx.Client, run_id: str, status: str, timeout: float = 10
) -> dict[str, Any]:
    """Poll ``GET /runs/{run_id}`` until it has ``status``."""
    deadline = time.monotonic() + timeout
    while True:
        info: dict[str, Any] = http.get(f"/runs/{run_id}").json()
        if info.get("status") == status:
            return info
        assert time.monotonic() < deadline, f"run {run_id} stayed {info}"
        time.sleep(0.01)


def wait_for_event(http: httpx.Client, run_id: str, kind: str) -> dict[str, Any]:
    """Follow a run's stream until an event of type ``kind``; return its envelope."""
    with http.stream("GET", f"/runs/{run_id}/events") as response:
        for frame in parse_sse(response.iter_lines()):
            if frame.comment is None and frame.event == kind:
                return frame.envelope
    raise AssertionError(f"run {run_id} ended without {kind}")


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of an error response (checking its shape)."""
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "field"}, error
    return error
