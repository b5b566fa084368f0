"""HTTP layer: the Starlette app that serves workflows (the ``server`` extra).

Importing any module of this package needs Starlette; without it the import fails with an
error that names ``pip install 'stepwork[server]'``.
"""

from __future__ import annotations

import importlib.util

__all__: list[str] = ["SERVER_EXTRA_HINT"]

SERVER_EXTRA_HINT = "pip install 'stepwork[server]'"
"""What to run when the server's dependencies are missing."""

if importlib.util.find_spec("starlette") is None:  # pragma: no cover - depends on the install
    raise ModuleNotFoundError(
        f"stepwork's HTTP server needs the 'server' extra (starlette is not installed): "
        f"{SERVER_EXTRA_HINT}",
        name="starlette",
    )
