"""The public names of either library, for tests that run one scenario on both."""

from __future__ import annotations

import importlib
import types

__all__ = ["library"]


def library(root: str) -> types.SimpleNamespace:
    """A namespace of ``root``'s (``workflows`` or ``stepwork``) names used by the tests."""
    lib = types.SimpleNamespace(name=root)
    for path in ("", ".events", ".context", ".context.serializers", ".context.state_store"):
        module = importlib.import_module(root + path)
        for key in getattr(module, "__all__", dir(module)):
            if not key.startswith("_"):
                setattr(lib, key, getattr(module, key))
    for key in ("Workflow", "Context", "step"):
        setattr(lib, key, getattr(importlib.import_module(root), key))
    return lib
