"""HTTP load: runs started through the API while SSE readers follow them, stepwork vs the anchor.

Each engine's server runs in a child process on a fresh SQLite store (``stepwork serve
examples/server_app.py``; the anchor's ``WorkflowServer`` + ``SqliteWorkflowStore`` serving the
same countdown, ``benchmarks/anchor_server_app.py``). ``--runs`` runs are started by
``--starters`` concurrent clients while ``--readers`` clients follow each run's SSE stream from
its start to its end, then read its status. Every run must complete and every reader must see
every event of its run once, in order (ids strictly increasing): failures are counted, not
hidden. ``--repeat`` times per engine, each on a fresh server and store; figures are medians.
The driver is a minimal asyncio client (``benchmarks/raw_http.py``) so it is not the bottleneck.

Usage: ``python -m benchmarks.http_load [--engine both] [--repeat 3] [--runs 500] [--json PATH]``
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.raw_http import Connection, HTTPStatusError

ROOT = Path(__file__).resolve().parent.parent
COUNT, DELAY = 3, 0.005  # each run publishes COUNT Progress events, then its StopEvent
EXPECTED = ["Progress"] * COUNT + ["StopEvent"]
KINDS = ("start", "stream", "status", "run")  # run: no request, start to stop event seen


@dataclass(frozen=True)
class Engine:
    """How to serve the countdown (``python -c CODE ARGS``) and which routes drive it."""

    code: str
    args: str  # {folder}: the fresh store's folder
    start: str  # route of the start request, answered with start_status
    start_status: int
    id_key: str  # the start body is {id_key: run id, input_key: START}
    input_key: str
    stream: str  # {id}: the run's id
    status: str


START = {"count": COUNT, "delay": DELAY}
ENGINES = {
    "stepwork": Engine(
        "from stepwork._cli.entry import main; main()",
        "serve examples/server_app.py --store sqlite:///{folder}/runs.db",
        "/workflows/countdown/runs", 202, "run_id", "input", "/runs/{id}/events", "/runs/{id}",
    ),
    "anchor": Engine(
        "from benchmarks.anchor_server_app import main; main()", "--db {folder}/runs.db",
        "/workflows/countdown/run-nowait", 200, "handler_id", "start_event",
        "/events/{id}?sse=true&after_sequence=-1", "/handlers/{id}",
    ),
}  # fmt: skip


@contextmanager
def served(engine: Engine, folder: str, url: str | None = None) -> Iterator[str]:
    """The engine's server in a child process on a free port; yields its base URL (or ``url``)."""
    if url:
        yield url
        return
    with socket.socket() as probe:  # a free port (the child binds it a moment later)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-c", engine.code, *engine.args.format(folder=folder).split()]
    command += ["--port", str(port), "--log-level", "warning"]
    with open(f"{folder}/server.log", "wb") as log:
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health").is_success:
                    break
            except httpx.TransportError:
                pass
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {command}")
            time.sleep(0.05)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=30)


def summary(values: list[float]) -> dict[str, float]:
    """p50 and p99 (nearest rank) and mean of ``values`` (seconds), in milliseconds; NaN when
    no request of the kind succeeded (the error counts say why)."""
    ordered, n = sorted(values), len(values)
    if n == 0:
        return {"p50": math.nan, "p99": math.nan, "mean": math.nan}

    def rank(share: float) -> float:
        return ordered[min(n - 1, max(0, round(share * n) - 1))] * 1e3

    return {"p50": rank(0.5), "p99": rank(0.99), "mean": statistics.fmean(values) * 1e3}


def completed(info: Any) -> bool:  # a status response's body
    return isinstance(info, dict) and info.get("status") == "completed"


async def load(engine: Engine, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Drive the load against ``url``; figures, latencies in ms, and errors by kind."""
    runs, readers, starters = args.runs, args.readers, args.starters
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    started: dict[str, float] = {}  # run id -> when its start request was sent
    finished: set[str] = set()
    seen_ok = 0
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    prefix = f"bench-{time.time_ns()}"

    async def starter(numbers: range) -> None:
        connection = Connection(url)
        for number in numbers:
            run_id, began = f"{prefix}-{number}", time.perf_counter()
            body = {engine.id_key: run_id, engine.input_key: START}
            try:
                status, info = await connection.request("POST", engine.start, body)
            except (OSError, asyncio.IncompleteReadError) as error:
                errors[f"start: {type(error).__name__}"] += 1
                await connection.close()
                continue
            latencies["start"].append(time.perf_counter() - began)
            if status == engine.start_status:
                started[run_id] = began
                await queue.put(run_id)
            else:
                errors[f"start: HTTP {status} {str(info)[:120]}"] += 1
        await connection.close()

    async def follow(connection: Connection, run_id: str) -> None:
        nonlocal seen_ok
        ids: list[int] = []
        types: list[str] = []
        began = time.perf_counter()
        async with asyncio.timeout(60):
            async for line in connection.stream_lines(engine.stream.format(id=run_id)):
                if line.startswith(b"id: "):
                    ids.append(int(line[4:]))
                elif line.startswith(b"data: "):
                    types.append(json.loads(line[6:])["type"])
        latencies["stream"].append(time.perf_counter() - began)
        latencies["run"].append(time.perf_counter() - started[run_id])
        in_order = len(ids) == len(types) and all(a < b for a, b in itertools.pairwise(ids))
        if types == EXPECTED and in_order:
            seen_ok += 1
        else:  # which events came, and whether each had a strictly increasing id
            errors[f"stream: {','.join(types)} {'in order' if in_order else 'ids NOT ok'}"] += 1
        began = time.perf_counter()
        status, info = await connection.request("GET", engine.status.format(id=run_id))
        latencies["status"].append(time.perf_counter() - began)
        if status == 200 and completed(info):
            finished.add(run_id)
        else:
            state = info.get("status") if isinstance(info, dict) else info
            errors[f"status right after the stream: HTTP {status} {state}"] += 1

    async def reader() -> None:
        connection = Connection(url)
        while (run_id := await queue.get()) is not None:
            try:
                await follow(connection, run_id)
            except HTTPStatusError as error:
                errors[f"stream: HTTP {error.status}"] += 1
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as error:
                errors[f"stream or status: {type(error).__name__}"] += 1
                await connection.close()
        await connection.close()

    began = time.perf_counter()
    tasks = [asyncio.create_task(reader()) for _ in range(readers)]
    share = -(-runs // starters)
    await asyncio.gather(
        *(starter(range(i * share, min(runs, (i + 1) * share))) for i in range(starters))
    )
    for _ in tasks:
        await queue.put(None)
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - began
    late = await settle(engine, url, [run for run in started if run not in finished])
    requests = sum(len(latencies[kind]) for kind in KINDS[:3])
    return {
        "wall_s": wall,
        "requests_per_s": requests / wall,
        "runs_per_s": (len(finished) + late) / wall,
        "requests": requests,
        "runs_started": len(started),
        "runs_completed": len(finished) + late,
        "runs_completed_after_the_load": late,
        "streams_complete_and_in_order": seen_ok,
        "latency_ms": {kind: summary(values) for kind, values in latencies.items()},
        "errors": dict(errors),
    }


async def settle(engine: Engine, url: str, pending: list[str]) -> int:
    """After the load (not timed): how many of ``pending`` complete within 30 s."""
    connection, done, deadline = Connection(url), 0, time.monotonic() + 30
    for run_id in pending:
        while time.monotonic() < deadline:
            status, info = await connection.request("GET", engine.status.format(id=run_id))
            if status == 200 and completed(info):
                done += 1
            if status != 202:
                break
            await asyncio.sleep(0.1)
    await connection.close()
    return done


def server_errors(folder: str) -> dict[str, int]:
    """Tracebacks and SQLite lock errors in the server's log."""
    log = Path(f"{folder}/server.log")
    text = log.read_text(errors="replace") if log.exists() else ""
    return {"tracebacks": text.count("Traceback"), "database is locked": text.count("is locked")}


def median(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the timings over repetitions; sums of the counts; errors merged."""
    errors: Counter[str] = Counter()
    for sample in samples:
        errors.update(sample["errors"])
        errors.update({f"server log: {k}": v for k, v in sample["server_log"].items() if v})
    figures: dict[str, Any] = {
        key: (sum if isinstance(value, int) else statistics.median)(s[key] for s in samples)
        for key, value in samples[0].items()
        if isinstance(value, int | float)
    }
    figures["latency_ms"] = {
        kind: {
            stat: statistics.median(s["latency_ms"][kind][stat] for s in samples)
            for stat in ("p50", "p99", "mean")
        }
        for kind in KINDS
        if all(kind in s["latency_ms"] for s in samples)
    }
    figures["errors"] = dict(errors)
    figures["samples"] = samples
    return figures


def print_table(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    """One table: each engine's medians and, with both, the ratio (>1 = stepwork better)."""
    names, both, total = list(results), len(results) == 2, args.runs * args.repeat
    print(
        f"HTTP load: {args.runs} runs x {args.repeat} (fresh server and SQLite store each time; "
        f"medians), {args.starters} starters, {args.readers} SSE readers, {COUNT} events + stop"
    )
    rows = [("requests/s", "requests_per_s", "", True), ("runs/s", "runs_per_s", "", True)]
    rows += [("wall s", "wall_s", "", False)]
    rows += [(f"{kind} {stat} ms", kind, stat, False) for kind in KINDS for stat in ("p50", "p99")]
    header = f"| {'figure':<24} | " + " | ".join(f"{n:>10}" for n in names)
    print(header + (f" | {'ratio':>7} |" if both else " |"))
    print(re.sub(r"[^|]", "-", header + (" | ------- |" if both else " |")))
    for label, key, stat, higher in rows:
        got = [results[n]["latency_ms"].get(key, {}).get(stat, math.nan) if stat
               else results[n][key] for n in names]  # fmt: skip
        num, den = (got[0], got[-1]) if higher else (got[-1], got[0])  # got: stepwork, anchor
        ratio = f" | {num / den if den > 0 else math.nan:>6.1f}x" if both else ""
        shown = " | ".join(f"{v:>10.{2 if key == 'wall_s' else 1}f}" for v in got)
        print(f"| {label:<24} | {shown}{ratio} |")
    for label, key in (("runs completed", "runs_completed"),
                       ("streams exact, in order", "streams_complete_and_in_order")):  # fmt: skip
        cells = " | ".join(f"{f'{results[n][key]}/{total}':>10}" for n in names)
        print(f"| {label:<24} | {cells}" + (" |         |" if both else " |"))
    print("ratio: how many times better stepwork is; stream = from request to end of stream;")
    print("run = from the run's start request to its reader seeing the stop event")
    for name in names:
        e = ENGINES[name]
        print(f"{name}: start = POST {e.start}, stream = GET {e.stream}, status = GET {e.status}")
        for error, count in sorted(results[name]["errors"].items()):
            print(f"  {name} error x{count}: {error}")


def main() -> None:
    """Parse arguments, run the load on each engine, print the table (and write JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["stepwork", "anchor", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--starters", type=int, default=50)
    parser.add_argument("--url", help="Use this server (of the one --engine) instead.")
    parser.add_argument("--json", type=Path, help="Write the figures to this file.")
    args = parser.parse_args()
    names = ["stepwork", "anchor"] if args.engine == "both" else [args.engine]
    if args.url and len(names) != 1:
        parser.error("--url needs --engine stepwork or --engine anchor")
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for repetition in range(args.repeat):
        for name in names if repetition % 2 == 0 else names[::-1]:  # alternate who goes first
            print(f"  {name} repetition {repetition + 1}/{args.repeat}", file=sys.stderr)
            with tempfile.TemporaryDirectory() as folder:
                with served(ENGINES[name], folder, args.url) as url:
                    sample = asyncio.run(load(ENGINES[name], url, args))
                samples[name].append({**sample, "server_log": server_errors(folder)})
    results = {name: median(samples[name]) for name in names}
    print_table(results, args)
    if args.json:
        settings = {k: getattr(args, k) for k in ("runs", "readers", "starters", "repeat")}
        payload = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **settings}
        args.json.write_text(json.dumps({**payload, "engines": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
