"""Following a run's event stream across dropped connections: the bookkeeping, without I/O.

A :class:`StreamCursor` remembers the last offset it handed out, so a reconnect asks for what
comes after it (``Last-Event-ID``) and an offset is never yielded twice, even when the server
replays. It counts consecutive failed connections and, from a :class:`ReconnectPolicy`, says how
long to wait before the next attempt or gives up. The async and sync streams drive it.

Example:
    >>> cursor = StreamCursor("r1", after=-1, policy=ReconnectPolicy(attempts=2))
    >>> cursor.accept(ServerSentEvent("Tick", '{"offset": 0, "type": "Tick"}', "0")).offset
    0
    >>> cursor.accept(ServerSentEvent("Tick", '{"offset": 0, "type": "Tick"}', "0")) is None
    True
    >>> cursor.headers()["Last-Event-ID"]
    '0'
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from stepwork._client.calls import Params, run_path
from stepwork._client.errors import StepworkClientError, error_from_response
from stepwork._client.models import EventEnvelope
from stepwork._client.sse import ServerSentEvent

__all__ = ["ReconnectPolicy", "StreamCursor"]


@dataclass(frozen=True)
class ReconnectPolicy:
    """How often, and how patiently, a stream reconnects after its connection drops.

    The first reconnect after a connection that delivered something is immediate; each further
    consecutive failure waits ``first_delay * multiplier ** (n - 2)``, capped at ``max_delay``.

    Attributes:
        attempts: How many times in a row to reconnect before giving up.
        first_delay: Seconds before the second consecutive attempt.
        max_delay: The longest wait between attempts, in seconds.
        multiplier: How much each wait grows.

    Example:
        >>> [ReconnectPolicy(first_delay=0.1).delay(n) for n in (1, 2, 3, 4)]
        [0.0, 0.1, 0.2, 0.4]
    """

    attempts: int = 5
    first_delay: float = 0.1
    max_delay: float = 2.0
    multiplier: float = 2.0

    def delay(self, failure: int) -> float:
        """Seconds to wait before reconnecting after the ``failure``-th consecutive failure."""
        if failure <= 1:
            return 0.0
        return float(min(self.max_delay, self.first_delay * self.multiplier ** (failure - 2)))


class StreamCursor:
    """Where a reader is in a run's stream, and whether it should try again.

    Args:
        run_id: The run being followed.
        after: Yield only events with a larger offset (-1 for all).
        policy: When to give up reconnecting.
        internal: Whether to ask for the engine's internal events too.

    Attributes:
        last_offset: The offset of the last event handed out (``after`` before any).
        done: Whether the terminal event has been handed out.
    """

    def __init__(
        self, run_id: str, *, after: int, policy: ReconnectPolicy, internal: bool = False
    ) -> None:
        self.run_id = run_id
        self.last_offset = after
        self.done = False
        self._policy = policy
        self._internal = internal
        self._failures = 0
        self._delivered = False

    @property
    def path(self) -> str:
        """The path of the run's event stream."""
        return run_path(self.run_id, "events")

    def params(self) -> Params:
        """Query parameters for the next connection."""
        return (
            ("after", str(self.last_offset)),
            ("format", "sse"),
            ("internal", "true" if self._internal else "false"),
        )

    def headers(self) -> dict[str, str]:
        """Headers for the next connection: SSE, from after the last offset seen."""
        headers = {"Accept": "text/event-stream"}
        if self.last_offset >= 0:
            headers["Last-Event-ID"] = str(self.last_offset)
        return headers

    def connected(self) -> None:
        """A new connection was opened; nothing has come over it yet."""
        self._delivered = False

    @property
    def delivered(self) -> bool:
        """Whether the current connection has yielded an event."""
        return self._delivered

    def alive(self) -> None:
        """The current connection delivered something (an event or a heartbeat)."""
        self._failures = 0

    def accept(self, message: ServerSentEvent) -> EventEnvelope | None:
        """The envelope in ``message``, or ``None`` when its offset was already handed out.

        Raises:
            JournalCorruptClientError: If the frame is the server's error frame: the run's
                journal cannot be read, so reconnecting would meet the same damage.
            StepworkClientError: If the frame's data is not an EventEnvelope.
        """
        if message.event == "error":
            raise self._error_frame(message.data)
        try:
            envelope = EventEnvelope.model_validate_json(message.data)
        except ValidationError as error:
            raise StepworkClientError(
                f"the event stream of run {self.run_id!r} sent a frame that is not an "
                f"EventEnvelope: {error}",
                run_id=self.run_id,
            ) from error
        self.alive()
        if envelope.offset <= self.last_offset:
            return None
        self.last_offset = envelope.offset
        self._delivered = True
        self.done = envelope.terminal
        return envelope

    def _error_frame(self, data: str) -> StepworkClientError:
        try:
            body = json.loads(data)
        except ValueError:
            body = None
        if not (isinstance(body, dict) and isinstance(body.get("error"), dict)):
            return StepworkClientError(
                f"the event stream of run {self.run_id!r} ended with an error frame that is "
                f"not an error body: {data[:200]!r}",
                run_id=self.run_id,
            )
        return error_from_response(409, body, run_id=self.run_id)

    def dropped(self, error: StepworkClientError) -> float:
        """The connection failed or ended early; seconds to wait before reconnecting.

        Raises:
            StepworkClientError: ``error`` itself, once the policy's attempts are spent.
        """
        self._failures += 1
        if self._failures > self._policy.attempts:
            raise error
        return self._policy.delay(self._failures)
