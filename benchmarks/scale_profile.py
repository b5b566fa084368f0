"""Where a durable run's time goes on PostgreSQL with ``stepwork worker`` processes.

``python -m benchmarks.scale_profile [--runs 400] [--workers 1] [--concurrency 20]
[--base SRC ...]`` starts a throwaway PostgreSQL server with ``pg_stat_statements``, enqueues
``--runs`` three-step runs (``benchmarks/scale_flow.py``), lets the worker processes execute
them, and prints per run: the SQL statements the workers and the enqueuer ran (calls and server
time per statement), the round trips, the workers' CPU (user + system, from ``/proc``), and the
runs per second.

``--base SRC`` (repeatable) runs the same measurement with workers importing stepwork from
another source tree (e.g. ``git archive main`` unpacked: its ``src`` directory), interleaved with
this tree's, so a before/after comparison shares the machine's load of the moment.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FLOW = ROOT / "benchmarks" / "scale_flow.py"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_cpu_seconds(server: Any) -> float:
    """CPU seconds of the PostgreSQL server's processes alive now (postmaster and backends)."""
    postmaster = int((server.socket_dir / "data" / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        if int(fields[1]) == postmaster or stat.parent.name == str(postmaster):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _workers(url: str, count: int, concurrency: int, src: str | None) -> list[Any]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "stepwork", "worker", str(FLOW), "--store", url]
    command += ["--concurrency", str(concurrency)]
    workers = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        for _ in range(count)
    ]
    for worker in workers:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        if "ready" not in line:
            raise RuntimeError(f"a stepwork worker did not start: {line!r}")
    return workers


async def _measure(
    server: Any, name: str, runs: int, count: int, concurrency: int, src: str | None
) -> dict[str, Any]:
    from benchmarks.scale_flow import ThreeSteps
    from stepwork import StartEvent
    from stepwork._runtime.worker import enqueue
    from stepwork._stores.url import store_from_url

    server.psql(f"CREATE DATABASE {name}")
    server.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", name)
    url = server.dsn(name)
    store = store_from_url(url)
    flow = ThreeSteps(store=store, timeout=None, workflow_name="three")
    await store.open()
    workers = _workers(url, count, concurrency, src)
    spying = _spy(workers[0].pid)
    server.psql("SELECT pg_stat_statements_reset()", name)
    cpu_before = [_cpu_seconds(w.pid) for w in workers]
    server_before, own_before = _server_cpu_seconds(server), time.process_time()
    try:
        started = time.monotonic()
        gate = asyncio.Semaphore(20)

        async def one(n: int) -> str:
            async with gate:
                return await enqueue(flow, StartEvent(n=n), run_id=f"r{n}")

        await asyncio.gather(*(one(n) for n in range(runs)))
        enqueued = time.monotonic() - started
        await _none_running(store)
        seconds = time.monotonic() - started
        cpu = sum(_cpu_seconds(w.pid) for w in workers) - sum(cpu_before)
        server_cpu = _server_cpu_seconds(server) - server_before
        own_cpu = time.process_time() - own_before
    finally:
        if spying is not None:
            spying.send_signal(signal.SIGINT)
            spying.wait(timeout=60)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
        await store.close()
    ended = await _ended(url, runs)
    rows = server.psql(
        "SELECT calls, round(total_exec_time::numeric, 3), "
        "regexp_replace(left(query, 90), '\\s+', ' ', 'g') FROM pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC",
        name,
    )
    statements = []
    for line in rows.strip().splitlines():
        calls, total_ms, query = line.split("|", 2)
        statements.append((int(calls), float(total_ms), query))
    return {
        "runs_per_s": runs / seconds,
        "enqueue_share": enqueued / seconds,
        "worker_cpu_ms_per_run": 1000 * cpu / runs,
        "server_cpu_ms_per_run": 1000 * server_cpu / runs,
        "enqueuer_cpu_ms_per_run": 1000 * own_cpu / runs,
        "statements": statements,
        "completed": ended,
    }


def _spy(pid: int) -> subprocess.Popen[bytes] | None:
    """With ``$SCALE_PROFILE_PY_SPY`` set to a path, py-spy recording process ``pid`` there
    (raw collapsed stacks) until it is sent SIGINT."""
    path = os.environ.get("SCALE_PROFILE_PY_SPY")
    if not path:
        return None
    spying = subprocess.Popen(
        ["py-spy", "record", "-r", "200", "-f", "raw", "-o", path, "-p", str(pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)  # py-spy attaches
    return spying


async def _none_running(store: Any, within: float = 600) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not await store.list_runs(status=["running"], limit=1):
            return
        await asyncio.sleep(0.02)  # a benchmark reading a state, not a test synchronising
    raise RuntimeError("the workers did not finish in time")


async def _ended(url: str, runs: int) -> int:
    from stepwork._stores.url import store_from_url

    store = store_from_url(url)
    await store.open()
    try:
        found = await store.list_runs(status=["completed"], limit=runs + 1)
    finally:
        await store.close()
    if len(found) != runs:
        raise RuntimeError(f"{len(found)} of {runs} runs completed")
    return len(found)


def _report(label: str, results: list[dict[str, Any]], runs: int) -> None:
    rate = statistics.median(r["runs_per_s"] for r in results)
    cpu = statistics.median(r["worker_cpu_ms_per_run"] for r in results)
    server_cpu = statistics.median(r["server_cpu_ms_per_run"] for r in results)
    own_cpu = statistics.median(r["enqueuer_cpu_ms_per_run"] for r in results)
    share = statistics.median(r["enqueue_share"] for r in results)
    last = results[-1]["statements"]
    per_run = sum(calls for calls, _, _ in last if "FROM runs WHERE ($1::text[] IS NULL" not in _)
    samples = ", ".join(f"{r['runs_per_s']:.1f}" for r in results)
    sys.stdout.write(
        f"\n== {label}: {rate:.1f} runs/s (samples {samples}), worker CPU "
        f"{cpu:.2f} ms/run, PostgreSQL CPU {server_cpu:.2f} ms/run, enqueuer CPU "
        f"{own_cpu:.2f} ms/run, enqueueing took {100 * share:.0f}% of the time, statements "
        f"{per_run / runs:.2f}/run (the benchmark's own polling excluded)\n"
    )
    for calls, total_ms, query in last:
        sys.stdout.write(f"{calls / runs:7.2f}/run {1000 * total_ms / calls:8.1f} us  {query}\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base", action="append", default=[], help="another stepwork src dir")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.stores.pg_server import running_server

    trees: list[tuple[str, str | None]] = [("this tree", None)]
    trees += [(f"base {src}", str(Path(src).resolve())) for src in args.base]
    results: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in trees}
    settings = {"shared_preload_libraries": "'pg_stat_statements'"}
    with running_server(settings) as server:
        number = 0
        for _ in range(args.repeat):
            for label, src in trees:  # interleaved: each tree sees the same load
                number += 1
                result = asyncio.run(
                    _measure(
                        server, f"prof_{os.getpid()}_{number}", args.runs, args.workers,
                        args.concurrency, src,
                    )
                )  # fmt: skip
                results[label].append(result)
    for label, _ in trees:
        _report(label, results[label], args.runs)


if __name__ == "__main__":
    main()
