"""Both libraries behind one namespace, for tests that run the same program on each.

A scenario is written once against ``lib`` (the public names of LlamaIndex Workflows 2.26.1,
"the anchor", or of stepwork) and parametrized over both with :func:`both`, so a test passing
for both ids shows both libraries give the same observable result: result values, streamed
event type names, error types and the key part of their messages, event model dumps.
"""

import types
from typing import Any

import pytest
import workflows
import workflows.collect
import workflows.errors
import workflows.events
import workflows.retry_policy
import workflows.testing

import stepwork
import stepwork.collect
import stepwork.errors
import stepwork.events
import stepwork.retry_policy
import stepwork.testing


def _namespace(name: str, *modules: types.ModuleType) -> types.SimpleNamespace:
    lib = types.SimpleNamespace(name=name)
    for module in modules:
        for key in dir(module):
            if not key.startswith("_"):
                setattr(lib, key, getattr(module, key))
    root = modules[0]
    for key in ("Workflow", "Context", "step", "catch_error"):
        setattr(lib, key, getattr(root, key))
    return lib


ANCHOR = _namespace(
    "anchor",
    workflows,
    workflows.events,
    workflows.errors,
    workflows.retry_policy,
    workflows.collect,
)
STEPWORK = _namespace(
    "stepwork",
    stepwork,
    stepwork.events,
    stepwork.errors,
    stepwork.retry_policy,
    stepwork.collect,
)


def both(stepwork_xfail: str | None = None) -> pytest.MarkDecorator:
    """Parametrize a test over both libraries; ``stepwork_xfail`` marks a known stepwork bug."""
    marks = [pytest.mark.xfail(strict=True, reason=stepwork_xfail)] if stepwork_xfail else []
    return pytest.mark.parametrize(
        "lib",
        [pytest.param(ANCHOR, id="anchor"), pytest.param(STEPWORK, id="stepwork", marks=marks)],
    )


Lib = Any


# -- helpers ---------------------------------------------------------------------------------


async def drain(handler: Any, expose_internal: bool = False) -> list[Any]:
    return [ev async for ev in handler.stream_events(expose_internal=expose_internal)]


def names(events: list[Any]) -> list[str]:
    return [type(ev).__name__ for ev in events]


async def outcome(handler: Any) -> tuple[str, Any]:
    """``("ok", result)`` or ``("error", ExceptionTypeName)`` for an awaited handler."""
    try:
        return "ok", await handler
    except Exception as error:
        return "error", type(error).__name__
