"""Every console transcript in the README and ``docs/`` is what the command prints today.

CLI transcripts run the installed ``stepwork`` command in a folder that sees the repository's
``examples/`` and ``tests/``; HTTP transcripts (``curl``) and client scripts (``$ python
NAME.py`` after a ``python`` block) run, in document order, against a fresh real server per
document serving ``examples/server_app.py``. Times and made-up run ids are normalised; any other
difference fails with both versions, so the documents cannot drift from the code again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from transcripts import (
    REPO,
    Command,
    Transcript,
    all_transcripts,
    normalised,
    program,
    replayed,
)

BIN = Path(sys.executable).parent
STEPWORK = shutil.which("stepwork", path=str(BIN))
ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80", "PATH": f"{BIN}:{os.environ['PATH']}"}
for _name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
    ENV.pop(_name, None)

TRANSCRIPTS = [t for t in all_transcripts() if not (t.mark or "").startswith("not run")]


def _kind(command: Command) -> str:
    if not replayed(command):
        return "shown"
    if program(command).startswith("stepwork "):
        return "cli"
    if command.line.startswith(("curl ", "python ")):
        return "server"
    return "unknown"


CLI = [t for t in TRANSCRIPTS if {_kind(c) for c in t.commands} - {"shown"} == {"cli"}]
SERVED = sorted({t.path for t in TRANSCRIPTS if "server" in {_kind(c) for c in t.commands}})


def test_every_transcript_is_replayed_or_says_why_not() -> None:
    """A command the test does not know how to replay must be marked ``not run, REASON``."""
    unknown = [
        f"{t.name}: $ {c.line}" for t in TRANSCRIPTS for c in t.commands if _kind(c) == "unknown"
    ]
    assert not unknown, "replay these commands or mark their block 'not run, WHY':\n" + "\n".join(
        unknown
    )
    reasons = [t.name for t in all_transcripts() if t.mark == "not run"]
    assert not reasons, f"a block marked 'not run' must say why: {reasons}"


def _compare(transcript: Transcript, command: Command, printed: str, code: int) -> None:
    want, got = normalised(command.shown), normalised(printed.rstrip("\n").splitlines())
    if command.interrupted:
        got = got[: len(want)]
    where = f"{transcript.name} `$ {command.line}`"
    if transcript.any_order:
        assert Counter(got) == Counter(want), f"{where} printed (in any order):\n" + "\n".join(got)
    else:
        assert got == want, f"{where} printed:\n" + "\n".join(got)
    assert code == (command.exit_code or 0), f"{where} exited {code}"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder where ``examples/`` and ``tests/`` resolve as in the repository's root."""
    for name in ("examples", "tests"):
        (tmp_path / name).symlink_to(REPO / name)
    return tmp_path


@pytest.mark.parametrize("transcript", CLI, ids=[t.name for t in CLI])
def test_cli_transcript(transcript: Transcript, workdir: Path) -> None:
    """The ``stepwork`` command prints what the document shows, with the same exit code."""
    assert STEPWORK, "the stepwork console script is not installed next to this Python"
    for command in (c for c in transcript.commands if _kind(c) == "cli"):
        done = subprocess.run(
            ["bash", "-c", command.line],
            cwd=workdir,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=60,
        )
        _compare(transcript, command, done.stdout, done.returncode)


sys.path.insert(0, str(REPO / "tests" / "server"))
from live_server import LiveServer  # noqa: E402  (tests/server is put on the path just above)


def _run_against(url: str, command: Command, script: str | None, workdir: Path) -> tuple[str, int]:
    """Run one ``curl`` line or client script against the server at ``url``."""
    line = command.line.replace("localhost:8000", url.removeprefix("http://"))
    if line.startswith("python "):
        assert script, f"`$ {command.line}` has no python block before it"
        name = line.split()[1]
        (workdir / name).write_text(script.replace("http://127.0.0.1:8000", url))
    process = subprocess.Popen(
        ["bash", "-c", line],
        cwd=workdir,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    if not command.interrupted:
        printed, _ = process.communicate(timeout=60)
        return printed, process.returncode
    # A stream that does not end by itself: read what the document shows, then hang up.
    lines = [process.stdout.readline() for _ in command.shown]
    process.terminate()
    process.communicate(timeout=10)
    return "".join(lines), command.exit_code or 0


@pytest.mark.parametrize("document", SERVED, ids=[str(p.relative_to(REPO)) for p in SERVED])
def test_http_and_client_transcripts(document: Path, workdir: Path, tmp_path: Path) -> None:
    """``curl`` lines and client scripts print what the document shows, against a real server."""
    server = LiveServer(store=f"sqlite:///{tmp_path / 'runs.db'}").start()
    try:
        for transcript in (t for t in TRANSCRIPTS if t.path == document):
            for command in transcript.commands:
                if _kind(command) == "server":
                    printed, code = _run_against(server.url, command, transcript.script, workdir)
                    _compare(transcript, command, printed, code)
    finally:
        server.stop()
