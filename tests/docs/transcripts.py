"""Console transcripts in the README and ``docs/``, read as data so a test can replay them.

A transcript is a fenced ``console`` block: lines starting with ``$ `` are commands, the lines
after each command (up to the next one) are what it printed, and ``[exit N]`` is its exit code.
A ``python`` block right before a transcript whose command is ``$ python NAME.py`` is that
script. A comment on the line before a block changes how it is compared:

- ``<!-- transcript: any order -->``: the lines are compared as a multiset (steps that run
  concurrently print in either order).
- ``<!-- transcript: not run, REASON -->``: the block is shown, not replayed (a reason is required).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# Commands shown for the reader to type once, not replayed: installing, the make targets,
# the porting guide's sed line and starting the server (the test starts its own).
NOT_REPLAYED = ("pip install", "make ", "sed ", "stepwork serve", "python -m stepwork serve")

_FENCE = re.compile(r"^```(\w*)\s*$")
_MARK = re.compile(r"^<!--\s*transcript:\s*(.+?)\s*-->\s*$")


@dataclass
class Command:
    """One ``$ `` line of a transcript and what the document says it printed."""

    line: str
    expected: list[str] = field(default_factory=list)
    exit_code: int | None = None

    @property
    def interrupted(self) -> bool:
        """True when the reader stopped it with Ctrl-C (a stream that does not end by itself)."""
        return bool(self.expected) and self.expected[-1] == "^C"

    @property
    def shown(self) -> list[str]:
        """The printed lines, without the ``^C`` marker and trailing blank lines."""
        lines = self.expected[:-1] if self.interrupted else list(self.expected)
        while lines and not lines[-1].strip():
            lines.pop()
        return lines


@dataclass
class Transcript:
    """A ``console`` block of a document."""

    path: Path
    lineno: int
    commands: list[Command]
    script: str | None = None
    mark: str | None = None

    @property
    def name(self) -> str:
        """``docs/cli.md:55``: where the block starts, for test ids and failure messages."""
        return f"{self.path.relative_to(REPO)}:{self.lineno}"

    @property
    def any_order(self) -> bool:
        """True when the block's lines may come in any order."""
        return self.mark == "any order"


def read_transcripts(path: Path) -> list[Transcript]:
    """Every ``console`` block of ``path``, with the ``python`` block before it if any."""
    lines = path.read_text().splitlines()
    found: list[Transcript] = []
    last_python: str | None = None
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence or not fence.group(1):
            i += 1
            continue
        start, language = i, fence.group(1)
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        body = lines[start + 1 : end]
        mark = _MARK.match(lines[start - 1]) if start else None
        if language == "python":
            last_python = "\n".join(body) + "\n"
        elif language == "console":
            found.append(
                Transcript(path, start + 1, _commands(body), last_python, mark and mark.group(1))
            )
            last_python = None
        i = end + 1
    return found


def _commands(body: list[str]) -> list[Command]:
    commands: list[Command] = []
    for text in body:
        if text.startswith("$ "):
            commands.append(Command(text[2:]))
        elif commands:
            exit_code = re.fullmatch(r"\[exit (\d+)\]", text)
            if exit_code:
                commands[-1].exit_code = int(exit_code.group(1))
            else:
                commands[-1].expected.append(text)
    return commands


_ENVIRONMENT = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+")


def program(command: Command) -> str:
    """The command line without the ``NAME=value`` assignments before it."""
    return _ENVIRONMENT.sub("", command.line)


def replayed(command: Command) -> bool:
    """Whether the test runs ``command``: all but the :data:`NOT_REPLAYED` kinds, and among
    those a server start the document shows refused (it ends by itself with its exit code)."""
    line = program(command)
    if line.startswith(("stepwork serve", "python -m stepwork serve")):
        return command.exit_code not in (None, 0)
    return not line.startswith(NOT_REPLAYED)


_VOLATILE = [
    # wall-clock times and process ids differ in every run
    (re.compile(r'("(?:created_at|updated_at)":\s*)[0-9.e+]+'), r"\g<1>0"),
    (re.compile(r"((?:created_at|updated_at)=)[0-9.e+]+"), r"\g<1>0"),
    # run ids the server makes up, and fork suffixes
    (re.compile(r'("run_id":\s*")[A-Za-z0-9]{10}"'), r'\g<1>RUNID"'),
    (re.compile(r"-fork-[0-9a-f]{6}\b"), "-fork-XXXXXX"),
    (re.compile(r"\bdurations? [0-9.]+ ?m?s\b"), "duration T"),
    # where the repository lies on this machine (tracebacks name files)
    (re.compile(re.escape(str(REPO))), "/..."),
]


def normalised(lines: list[str]) -> list[str]:
    """``lines`` with times and made-up ids replaced by fixed placeholders."""
    out = []
    for line in lines:
        for pattern, replacement in _VOLATILE:
            line = pattern.sub(replacement, line)
        out.append(line.rstrip())
    return out


def all_transcripts() -> list[Transcript]:
    """Every transcript of every document, in document order."""
    return [t for path in DOCUMENTS for t in read_transcripts(path)]
