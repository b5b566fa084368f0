"""``stepwork serve --workers 0`` target for the API node trace test: serves ``relay_flow.Relay``
in a process where OpenTelemetry cannot be imported, as on a node installed without the
``otel`` extra. The node traces nothing; it must still hand its callers' trace on."""

from __future__ import annotations

import importlib.abc
import sys
from typing import Any

from relay_flow import Relay


class _NoOpenTelemetry(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ImportError(f"{name}: this API node is installed without the otel extra")
        return None


assert "opentelemetry" not in sys.modules
sys.meta_path.insert(0, _NoOpenTelemetry())

workflows = {"relay": Relay(timeout=None, workflow_name="relay")}
