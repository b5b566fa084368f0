"""Durable runs per second across processes: stepwork's workers against the anchor on DBOS.

``make bench-scale`` (``python -m benchmarks.scale``) starts one throwaway PostgreSQL server
(the tests' ``running_server``) and measures, in the same invocation and on that server:

- the anchor with llama-agents-dbos (``DBOSRuntime``), 1 and 2 replicas, each replica a process
  that starts and executes its share of the runs (DBOS pins a run to its starter), in
  ``.venv-dbos``; and on a SQLite file, 1 replica;
- stepwork's fleet: 1, 2 and 4 ``stepwork worker`` processes on PostgreSQL and on SQLite,
  claiming runs that this process enqueued, until every run has ended;
- takeover after a SIGKILL, and the memory of ``--waiting`` runs (10,000) waiting for a person
  in one worker, released when idle against held (``scale_memory.py``).

Every throughput and takeover measurement is repeated (``--repeat``, default 3) and the table
shows medians; the memory is measured once.

Usage: ``python -m benchmarks.scale [--runs 100] [--repeat 3] [--json PATH]``; a quicker subset
while iterating: ``--stepwork-only --backends postgresql --workers 1,2 --no-takeover
--waiting 0``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
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
FLOW = ROOT / "benchmarks" / "scale_flow.py"
TAKEOVER_TTL = 3.0


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


def start_workers(
    url: str, count: int, concurrency: int, ttl: float | None = None
) -> list[subprocess.Popen[str]]:
    """``count`` ``stepwork worker`` processes serving ``scale_flow``, each ready."""
    command = [sys.executable, "-m", "stepwork", "worker", str(FLOW), "--store", url]
    command += ["--concurrency", str(concurrency)]
    if ttl is not None:
        command += ["--lease-ttl", str(ttl), "--heartbeat", str(ttl / 3)]
    workers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(count)
    ]
    for worker in workers:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        if "ready" not in line:
            stop_workers(workers)
            raise RuntimeError(f"a stepwork worker did not start: {line!r}")
    return workers


def stop_workers(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


async def _until(store: Any, check: Any, within: float = 600) -> float:
    """Read the store until ``check(runs)`` holds; the monotonic time it held."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        runs = await store.list_runs(limit=100_000)
        if check(runs):
            return time.monotonic()
        await asyncio.sleep(0.05)  # a benchmark reading a state, not a test synchronising
    raise RuntimeError("the fleet did not get there in time")


async def _none_running(store: Any, within: float = 600) -> float:
    """Wait until no run is running (every enqueued run ended); the monotonic time then."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not await store.list_runs(status=["running"], limit=1):
            return time.monotonic()
        await asyncio.sleep(0.02)  # a benchmark reading a state, not a test synchronising
    raise RuntimeError("the fleet did not finish in time")


async def _fleet(url: str, runs: int, workers: int, concurrency: int) -> float:
    from benchmarks.scale_flow import ThreeSteps
    from stepwork import StartEvent
    from stepwork._runtime.worker import enqueue
    from stepwork._stores.url import store_from_url

    store = store_from_url(url)
    flow = ThreeSteps(store=store, timeout=None, workflow_name="three")
    await store.open()
    fleet = start_workers(url, workers, concurrency)
    try:
        started = time.monotonic()
        gate = asyncio.Semaphore(20)

        async def one(n: int) -> str:
            async with gate:
                return await enqueue(flow, StartEvent(n=n), run_id=f"r{n}")

        await asyncio.gather(*(one(n) for n in range(runs)))
        # A cheap poll (is any run still running?): reading every run each time cost the
        # 2 shared cores more than the runs themselves; the results are checked after.
        ended = await _none_running(store)
        ended_runs = await store.list_runs(limit=100_000)
        if sorted(r.status for r in ended_runs) != ["completed"] * runs:
            raise RuntimeError(f"not every run completed: {[r.status for r in ended_runs]}")
        for run in ended_runs:
            expected = int(run.run_id[1:]) + 2
            if run.result is None or run.result.get("result") != expected:
                raise RuntimeError(f"run {run.run_id} ended with {run.result!r}")
    finally:
        stop_workers(fleet)
        await store.close()
    return runs / (ended - started)


def stepwork_fleet(url: str, runs: int, workers: int, concurrency: int) -> float:
    """Runs per second of ``workers`` worker processes executing ``runs`` enqueued runs."""
    return asyncio.run(_fleet(url, runs, workers, concurrency))


async def _takeover(url: str, ttl: float) -> float:
    from benchmarks.scale_flow import Slow
    from stepwork import StartEvent
    from stepwork._runtime.worker import enqueue
    from stepwork._stores.url import store_from_url

    store = store_from_url(url)
    flow = Slow(store=store, timeout=None, workflow_name="slow")
    await store.open()
    fleet = start_workers(url, 2, 10, ttl=ttl)
    try:
        for n in range(10):
            await enqueue(flow, StartEvent(n=n), run_id=f"s{n}")
        await _until(store, lambda rs: all(r.owner for r in rs) and len(rs) == 10)
        by_pid = {str(worker.pid): worker for worker in fleet}
        runs = await store.list_runs(limit=100)
        victim_owner = runs[0].owner
        assert victim_owner is not None
        victim = next(w for pid, w in by_pid.items() if f":{pid}:" in victim_owner)
        theirs = {r.run_id for r in runs if r.owner == victim_owner}
        victim.kill()
        killed = time.monotonic()
        taken = await _until(
            store,
            lambda rs: all(r.owner not in (None, victim_owner) for r in rs if r.run_id in theirs),
        )
    finally:
        stop_workers(fleet)
        await store.close()
    return taken - killed


def takeover(url: str, ttl: float) -> float:
    """Seconds from SIGKILL of a worker until another worker holds every run it held."""
    return asyncio.run(_takeover(url, ttl))


def median_of(repeat: int, measure: Any, *args: Any) -> dict[str, Any]:
    values = [measure(*args) for _ in range(repeat)]
    return {"median": statistics.median(values), "samples": values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--stepwork-only", action="store_true", help="skip the anchor on DBOS")
    parser.add_argument("--backends", default="postgresql,sqlite", help="comma-separated")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts, comma-separated")
    parser.add_argument("--no-takeover", action="store_true", help="skip the takeover rows")
    parser.add_argument("--waiting", type=int, default=10_000, help="waiting runs (0: skip)")
    args = parser.parse_args()
    backends = args.backends.lower().split(",")
    fleet_sizes = [int(n) for n in args.workers.split(",")]
    if not args.stepwork_only and not DBOS_PYTHON.exists():
        sys.exit("benchmarks.scale: .venv-dbos is missing; run `make bench-scale`, which builds it")
    sys.path.insert(0, str(ROOT))
    from tests.stores.pg_server import running_server

    from benchmarks.scale_memory import waiting_memory

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

        anchor_rows = [
            ("anchor+DBOS, PostgreSQL, 1 replica, one run at a time", pg_url, 1, 1),
            ("anchor+DBOS, PostgreSQL, 1 replica, 20 runs at once", pg_url, 1, 20),
            ("anchor+DBOS, PostgreSQL, 2 replicas, 20 runs at once each", pg_url, 2, 20),
            ("anchor+DBOS, SQLite, 1 replica, 20 runs at once", sqlite_url, 1, 20),
        ]
        for label, make_url, replicas, concurrency in [] if args.stepwork_only else anchor_rows:
            rows[label] = median_of(
                args.repeat,
                lambda: anchor_dbos(make_url(), args.runs, replicas, concurrency),  # noqa: B023
            )
            print(f"{label:<64} {rows[label]['median']:8.1f} runs/s", flush=True)
        for backend, make_url in [("PostgreSQL", pg_url), ("SQLite", sqlite_url)]:
            if backend.lower() not in backends:  # e.g. --backends none: the memory rows only
                continue
            for workers in fleet_sizes:
                label = f"stepwork, {backend}, {workers} worker process(es), 20 runs each at once"
                rows[label] = median_of(
                    args.repeat,
                    lambda: stepwork_fleet(make_url(), args.runs, workers, 20),  # noqa: B023
                )
                print(f"{label:<64} {rows[label]['median']:8.1f} runs/s", flush=True)
            if args.no_takeover:
                continue
            label = f"stepwork, {backend}, takeover after SIGKILL (lease {TAKEOVER_TTL:g} s)"
            rows[label] = median_of(args.repeat, lambda: takeover(make_url(), TAKEOVER_TTL))  # noqa: B023
            print(f"{label:<64} {rows[label]['median']:8.2f} s", flush=True)
        for release in (True, False) if args.waiting else ():
            how = "released when idle" if release else "held"
            label = f"stepwork, PostgreSQL, {args.waiting} runs waiting for a person, {how}"
            rows[label] = waiting_memory(pg_url(), args.waiting, release=release)
            print(
                f"{label:<64} {rows[label]['over_idle_mib']:8.1f} MiB over an idle worker "
                f"(peak {rows[label]['peak_mib']:.1f} MiB, {rows[label]['seconds']:.0f} s)",
                flush=True,
            )
            if not release:
                row = rows[label]
                print(
                    f"{'  held for':<64} {row['hold_seconds']:8.1f} s: worker CPU "
                    f"{row['worker_cpu_percent']:.1f}%, {row['commits_per_second']:.1f} "
                    f"commits/s, {row['lapsed_leases']} leases lapsed, max epoch "
                    f"{row['max_epoch']}",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
