"""``import stepwork`` loads what an in-memory run needs, not the durable machinery: the store
backends, journals, leases, limits, resuming, time travel and child runs load on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

LOADED_ON_FIRST_USE = [
    "stepwork.stores",
    "stepwork._stores.memory",
    "stepwork._stores.sqlite",
    "stepwork._stores.postgres",
    "stepwork._runtime.durable",
    "stepwork._runtime.journal",
    "stepwork._runtime.lease",
    "stepwork._runtime.limiter",
    "stepwork._runtime.time_travel",
    "stepwork._runtime.children",
]

PROGRAM = """
import asyncio, json, sys
import stepwork
from stepwork import StartEvent, StopEvent, Workflow, step

class Hello(Workflow):
    @step
    async def hi(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result="hi")

async def main():
    return await Hello().run()

before = sorted(m for m in sys.modules if m.startswith("stepwork"))
result = asyncio.run(main())
after = sorted(m for m in sys.modules if m.startswith("stepwork"))
store = stepwork.SqliteStore
print(json.dumps({"before": before, "after": after, "result": result,
                  "store": f"{store.__module__}.{store.__qualname__}",
                  "loaded": sorted(m for m in sys.modules if m.startswith("stepwork"))}))
"""


@pytest.fixture(scope="module")
def found() -> dict[str, object]:
    """What the program saw, run once for the module's tests."""
    output = subprocess.run(
        [sys.executable, "-c", PROGRAM], check=True, capture_output=True, text=True
    ).stdout
    seen: dict[str, object] = json.loads(output)
    return seen


def test_an_in_memory_run_loads_no_durable_machinery(found: dict[str, object]) -> None:
    assert found["result"] == "hi"
    for loaded in (found["before"], found["after"]):
        assert isinstance(loaded, list)
        assert [name for name in LOADED_ON_FIRST_USE if name in loaded] == []


def test_store_names_load_on_first_use_under_their_public_name(found: dict[str, object]) -> None:
    assert found["store"] == "stepwork.stores.SqliteStore"
    assert "stepwork._stores.sqlite" in found["loaded"]  # type: ignore[operator]
