"""A small headless-Chromium driver for tests: the DevTools protocol over a pipe.

Chromium is started with ``--remote-debugging-pipe``: it reads protocol messages from file
descriptor 3 and writes its own to descriptor 4, each a JSON text ending with a NUL byte. That
needs no websocket client and no free port, and the browser's lifetime is tied to the pipes.
Every wait is on a protocol message or on page state, with a deadline; nothing sleeps.

Example::

    with Browser.launch() as browser:
        page = browser.open(path.as_uri())
        page.wait_for("document.body.dataset.ready")
        page.evaluate("document.title")
        page.screenshot(tmp_path / "page.png")
        assert not page.errors
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Browser", "BrowserError", "Page", "chromium_path"]

# The machine has no network: these keep Chromium from trying to reach one.
QUIET_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


class BrowserError(RuntimeError):
    """Chromium failed to start, answered with an error, or did not answer in time."""


def chromium_path() -> str | None:
    """The Chromium executable on ``PATH``, or ``None``."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Browser:
    """A running headless Chromium, spoken to over the DevTools pipe."""

    process: subprocess.Popen[bytes]
    to_browser: int
    from_browser: int
    profile: str
    timeout: float = 10.0
    _next_id: int = 0
    _buffer: bytes = b""
    _events: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    @contextmanager
    def launch(cls, timeout: float = 10.0) -> Iterator[Browser]:
        """Start Chromium, yield it, and shut it down (and remove its profile) afterwards.

        Raises:
            BrowserError: If Chromium is not installed.
        """
        executable = chromium_path()
        if executable is None:
            raise BrowserError("chromium is not installed (scripts/test-deps.sh installs it)")
        profile = tempfile.mkdtemp(prefix="stepwork-chromium-")
        # Chromium wants the pipe on descriptors 3 and 4; move ours out of that range first so
        # the shell's redirections cannot clobber one with the other.
        theirs_in, ours_out = os.pipe()
        ours_in, theirs_out = os.pipe()
        child_in = fcntl.fcntl(theirs_in, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(theirs_out, fcntl.F_DUPFD, 10)
        os.close(theirs_in)
        os.close(theirs_out)
        args = [*QUIET_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe"]
        script = f'exec "$0" "$@" 3<&{child_in} 4>&{child_out} {child_in}<&- {child_out}>&-'
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(
                ["/bin/bash", "-c", script, executable, *args, "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                pass_fds=(child_in, child_out),
            )
            os.close(child_in)
            os.close(child_out)
            browser = cls(process, ours_out, ours_in, profile, timeout)
            try:
                yield browser
            except BaseException as error:
                log.seek(0)
                tail = log.read()[-4000:].decode(errors="replace").strip()
                if tail:
                    error.add_note(f"chromium stderr (tail):\n{tail}")
                raise
            finally:
                browser.close()

    def close(self) -> None:
        """Ask Chromium to quit, wait for it, and clean up."""
        if self.process.poll() is None:
            try:
                self._send("Browser.close", {}, None)
            except (BrowserError, OSError):
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for fd in (self.to_browser, self.from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- the protocol -------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None):
        """Send a command and return its result (other messages that arrive are kept)."""
        number = self._send(method, params or {}, session)
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._receive(deadline)
            if message.get("id") == number:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._events.append(message)

    def wait_event(self, method: str, session: str | None, seen: int = 0) -> dict[str, Any]:
        """The first event ``method`` of ``session`` at or after position ``seen`` of the log."""
        deadline = time.monotonic() + self.timeout
        position = seen
        while True:
            while position < len(self._events):
                message = self._events[position]
                position += 1
                if message.get("method") == method and message.get("sessionId") == session:
                    return message
            self._events.append(self._receive(deadline))

    def events(self, session: str | None) -> list[dict[str, Any]]:
        """Events received so far for ``session``."""
        return [m for m in self._events if "method" in m and m.get("sessionId") == session]

    def open(self, url: str, width: int = 1400, height: int = 900) -> Page:
        """Open ``url`` in a new tab with a ``width`` x ``height`` viewport; wait for its load."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, session)
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", {}, session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        seen = len(self._events)
        self.call("Page.navigate", {"url": url}, session)
        self.wait_event("Page.loadEventFired", session, seen)
        return page

    def _send(self, method: str, params: dict[str, Any], session: str | None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"Chromium did not answer within {self.timeout} s")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError(f"Chromium exited (code {self.process.poll()})")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message


@dataclass
class Page:
    """One tab, attached through a flat session."""

    browser: Browser
    session: str

    def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` (awaited if it is a promise), as JSON-ready data.

        Raises:
            BrowserError: If the expression throws.
        """
        result = self.browser.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            self.session,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, condition: str) -> Any:
        """Wait until ``condition`` (a JS expression) is truthy, checking on each frame."""
        script = (
            "new Promise((resolve) => { const check = () => { const value = (" + condition + ");"
            " if (value) { resolve(value); } else { requestAnimationFrame(check); } }; check(); })"
        )
        return self.evaluate(script)

    @property
    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries, as text."""
        found: list[str] = []
        for message in self.browser.events(self.session):
            method, params = message["method"], message.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(str(details.get("exception", {}).get("description") or details))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(" ".join(str(a.get("value", a)) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(params["entry"].get("text", ""))
        return found

    @property
    def requests(self) -> list[str]:
        """URLs the page asked for, its own document included."""
        return [
            message["params"]["request"]["url"]
            for message in self.browser.events(self.session)
            if message["method"] == "Network.requestWillBeSent"
        ]

    def screenshot(self, path: Path) -> Path:
        """Save a PNG of the whole page (not just the viewport) to ``path``."""
        size = self.browser.call("Page.getLayoutMetrics", {}, self.session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        result = self.browser.call(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": clip},
            self.session,
        )
        path.write_bytes(base64.b64decode(result["data"]))
        return path
