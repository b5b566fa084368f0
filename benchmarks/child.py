"""Run one scenario once in this fresh process and print its sample as JSON.

Usage: ``python -m benchmarks.child ENGINE SCENARIO N`` (ENGINE: stepwork | anchor), or
``python -m benchmarks.child ENGINE import`` to time the engine's import.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict


def main() -> None:
    engine, scenario = sys.argv[1], sys.argv[2]
    if scenario == "import":
        started = time.perf_counter()
        if engine == "stepwork":
            import stepwork  # noqa: F401
        else:
            import workflows  # noqa: F401
        print(json.dumps({"seconds": time.perf_counter() - started, "items": 1}))
        return
    from benchmarks.scenarios import SCENARIOS, load

    n = int(sys.argv[3])
    lib = load(engine)
    sample = asyncio.run(SCENARIOS[scenario](lib, n))
    print(json.dumps(asdict(sample)))


if __name__ == "__main__":
    main()
