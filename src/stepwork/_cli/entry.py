"""The ``stepwork`` console script: loads the CLI, or says which extra to install."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Run the ``stepwork`` command line."""
    try:
        from stepwork._cli.app import app
    except ModuleNotFoundError as error:
        if error.name in ("typer", "rich", "click"):
            sys.stderr.write(
                "stepwork: the command line needs the 'cli' extra: pip install 'stepwork[cli]'\n"
            )
            raise SystemExit(2) from None
        raise
    app()
