"""An incremental parser for Server-Sent Events (the WHATWG ``text/event-stream`` format).

Feed it the bytes as they arrive, in chunks of any size; it returns the events completed by each
chunk. It follows the specification's rules that matter in practice:

- lines end with CRLF, LF or CR, and a CRLF may be split across two chunks;
- UTF-8 characters may be split across chunks; a leading byte-order mark is dropped;
- ``data:`` lines accumulate, joined by newlines; a blank line dispatches the event, and an
  event with no data is not dispatched;
- lines starting with ``:`` are comments (heartbeats), counted but otherwise ignored;
- one space after the colon is stripped; a line without a colon is a field with an empty value;
- the last ``id:`` persists across events; an ``id`` containing NUL is ignored;
- an event cut off by the end of the stream (no blank line yet) is never dispatched.

Example:
    >>> parser = SSEParser()
    >>> parser.feed(b": heartbeat\\n\\nid: 7\\nevent: Question\\ndata: {\\"a\\":")
    []
    >>> parser.feed(b" 1}\\n\\n")
    [ServerSentEvent(event='Question', data='{"a": 1}', id='7')]
    >>> parser.comments
    1
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

__all__ = ["SSEParser", "ServerSentEvent"]


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event.

    Attributes:
        event: The ``event:`` field, or ``"message"`` when there was none.
        data: The ``data:`` lines joined by newlines.
        id: The last ``id:`` seen on the stream so far, if any.
    """

    event: str
    data: str
    id: str | None


class SSEParser:
    """Turns the bytes of an event stream into :class:`ServerSentEvent` objects.

    Attributes:
        comments: How many comment lines (for example heartbeats) were seen.
        last_event_id: The last valid ``id:`` seen, if any.
        retry: The last valid ``retry:`` seen (the server's reconnection delay in ms), if any.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._started = False
        self._skip_lf = False  # the previous chunk ended with CR; a LF now belongs to it
        self._data: list[str] = []
        self._event = ""
        self.comments = 0
        self.retry: int | None = None
        self.last_event_id: str | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Parse the next chunk of the stream.

        Args:
            chunk: The next bytes, cut anywhere.

        Returns:
            The events this chunk completed, in order (often none).
        """
        text = self._decoder.decode(chunk)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._skip_lf and text:
            self._skip_lf = False
            text = text.removeprefix("\n")
        self._buffer += text
        events: list[ServerSentEvent] = []
        start = 0
        buffer = self._buffer
        while True:
            end = _line_end(buffer, start)
            if end < 0:
                break
            line = buffer[start:end]
            if buffer[end] == "\r":
                if end + 1 == len(buffer):
                    self._skip_lf = True
                    start = end + 1
                elif buffer[end + 1] == "\n":
                    start = end + 2
                else:
                    start = end + 1
            else:
                start = end + 1
            event = self._line(line)
            if event is not None:
                events.append(event)
        self._buffer = buffer[start:]
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, colon, value = line.partition(":")
        if colon:
            value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self.retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return ServerSentEvent(
            event=event or "message", data="\n".join(data), id=self.last_event_id
        )


def _line_end(text: str, start: int) -> int:
    """The index of the first CR or LF at or after ``start``, or -1."""
    lf = text.find("\n", start)
    cr = text.find("\r", start, lf if lf >= 0 else len(text))
    return cr if cr >= 0 else lf
