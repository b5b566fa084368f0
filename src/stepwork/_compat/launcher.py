"""``python -m stepwork.compat app.py [args]``: run a program with ``workflows`` as stepwork."""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Sequence

from stepwork._compat.finder import install

__all__ = ["USAGE", "main"]

USAGE = (
    "usage: python -m stepwork.compat SCRIPT [ARGS...]\n"
    "       python -m stepwork.compat -m MODULE [ARGS...]\n"
    "Runs SCRIPT (or MODULE, e.g. pytest) with every `import workflows...` resolved to stepwork.\n"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Install the alias, then run a script or module as ``__main__`` with the given arguments.

    Returns:
        The exit status: 0 after the program ran, 2 for a usage error. ``SystemExit`` raised by
        the program propagates unchanged.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or (args[0] == "-m" and len(args) < 2):
        sys.stderr.write(USAGE)
        return 0 if args and args[0] in ("-h", "--help") else 2
    install()
    if args[0] == "-m":
        sys.argv = [args[1], *args[2:]]
        sys.path.insert(0, os.getcwd())
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return 0
    script = args[0]
    sys.argv = args
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
    return 0
