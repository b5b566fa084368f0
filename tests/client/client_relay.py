"""A TCP relay between the client and a real server, whose connections a test can cut.

Cutting closes both sides of every open connection, as a flaky network or a proxy restart
would; the relay keeps listening, so the client's reconnect goes through. Pointing the relay at
another port lets a test restart the server while the client keeps its base URL.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class Relay:
    """Forwards ``127.0.0.1:<port>`` to ``127.0.0.1:<upstream>`` until closed."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self.accepted = 0
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                downstream.close()  # as if the server were down
                continue
            with self._lock:
                self.accepted += 1
                self._open += [downstream, upstream]
                for source, target in ((downstream, upstream), (upstream, downstream)):
                    thread = threading.Thread(target=_pipe, args=(source, target), daemon=True)
                    self._threads.append(thread)
                    thread.start()

    def cut(self) -> None:
        """Close every open connection, both ways, and wait until the pipes have stopped."""
        with self._lock:
            sockets, self._open = self._open, []
            threads, self._threads = self._threads, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in threads:
            thread.join(timeout=5)

    def close(self) -> None:
        """Stop listening and cut every connection."""
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._accepting.join(timeout=5)
        self.cut()

    def __enter__(self) -> Relay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    # One side ended: end the other too, so the peer sees the connection go.
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_RDWR)
