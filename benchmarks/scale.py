"""Durable runs per second across processes: stepwork's workers against the anchor on DBOS.

``make bench-scale`` (``python -m benchmarks.scale``) starts one throwaway PostgreSQL server
(the tests' ``running_server``) and measures, in the same invocation and on that server:

- the anchor with llama-agents-dbos (``DBOSRuntime``), 1 and 2 replicas, each replica a process
  that starts and executes its share of the runs (DBOS pins a run to its starter), in
  ``.venv-dbos``; and on a SQLite file, 1 replica;
- stepwork's fleet: 1, 2 and 4 ``stepwork worker`` processes on PostgreSQL and on SQLite,
  claiming runs that this process enqueued, until every run has ended.

Every measurement is repeated (``--repeat``, default 3) and the table shows medians.

Usage: ``python -m benchmarks.scale [--runs 100] [--repeat 3] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DBOS_PYTHON = ROOT / ".venv-dbos" / "bin" / "python"
DBOS_CHILD = ROOT / "benchmarks" / "scale_dbos_child.py"


def anchor_dbos(url: str, runs: int, replicas: int, concurrency: int) -> float:
    """Runs per second of ``replicas`` anchor+DBOS processes sharing ``runs`` between them."""
    share = runs // replicas
    app = f"bench{time.monotonic_ns()}"
    children = [
        subprocess.Popen(
            [str(DBOS_PYTHON), str(DBOS_CHILD), url, str(share), str(concurrency), app],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(replicas)
    ]
    samples = []
    for child in children:
        out, err = child.communicate(timeout=900)
        if child.returncode != 0:
            raise RuntimeError(f"anchor+DBOS replica failed:\n{err[-3000:]}")
        samples.append(json.loads(out.strip().splitlines()[-1]))
    return share * replicas / max(sample["seconds"] for sample in samples)


def median_of(repeat: int, measure: Any, *args: Any) -> dict[str, Any]:
    values = [measure(*args) for _ in range(repeat)]
    return {"median": statistics.median(values), "samples": values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not DBOS_PYTHON.exists():
        sys.exit("benchmarks.scale: .venv-dbos is missing; run `make bench-scale`, which builds it")
    sys.path.insert(0, str(ROOT))
    from tests.stores.pg_server import running_server

    results: dict[str, Any] = {"runs": args.runs, "repeat": args.repeat, "rows": {}}
    rows = results["rows"]
    with running_server() as server, tempfile.TemporaryDirectory() as scratch:
        counter = iter(range(10_000))

        def pg_url() -> str:
            name = f"bench_{os.getpid()}_{next(counter)}"
            server.psql(f"CREATE DATABASE {name}")
            return server.dsn(name)

        def sqlite_url() -> str:
            return f"sqlite:///{Path(scratch) / f'dbos{next(counter)}.sqlite'}"

        for label, make_url, replicas, concurrency in [
            ("anchor+DBOS, PostgreSQL, 1 replica, one run at a time", pg_url, 1, 1),
            ("anchor+DBOS, PostgreSQL, 1 replica, 20 runs at once", pg_url, 1, 20),
            ("anchor+DBOS, PostgreSQL, 2 replicas, 20 runs at once each", pg_url, 2, 20),
            ("anchor+DBOS, SQLite, 1 replica, 20 runs at once", sqlite_url, 1, 20),
        ]:
            rows[label] = median_of(
                args.repeat,
                lambda: anchor_dbos(make_url(), args.runs, replicas, concurrency),  # noqa: B023
            )
            print(f"{label:<64} {rows[label]['median']:8.1f} runs/s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
