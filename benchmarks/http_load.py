"""HTTP load: runs started through the API while SSE readers follow them, on one server.

Starts ``stepwork serve examples/server_app.py`` in a child process on a fresh SQLite store
(or uses ``--url``), then ``--runs`` countdown runs are started by ``--starters`` concurrent
clients while ``--readers`` concurrent clients follow each run's SSE stream to its end and
read its status. Reports requests per second over the whole load and p50/p99 latency per
kind of request (for streams: from the request to the terminal event). The driver is a
minimal asyncio HTTP client (``benchmarks/raw_http.py``): an httpx driver saturates its own
CPU first on a small machine.

Usage: ``python -m benchmarks.http_load [--runs 500] [--readers 50] [--starters 50]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks.raw_http import Connection

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def served(store: str) -> Iterator[str]:
    """A ``stepwork serve`` child process on a free port; yields its base URL."""
    with socket.socket() as probe:  # a free port (the child binds it a moment later)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-c", "from stepwork._cli.entry import main; main()", "serve"]
    command += ["examples/server_app.py", "--port", str(port), "--store", store]
    command += ["--log-level", "warning"]
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
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
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=30)


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def load(url: str, runs: int, readers: int, starters: int) -> dict[str, object]:
    """Drive the load against ``url``; latencies by request kind, in seconds.

    Each starter and each reader keeps one connection (``raw_http``, so the driver is not the
    bottleneck).
    """
    latencies: dict[str, list[float]] = defaultdict(list)
    events = 0
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    prefix = f"bench-{time.time_ns()}"

    async def starter(numbers: range) -> None:
        connection = Connection(url)
        for number in numbers:
            body = {"run_id": f"{prefix}-{number}", "input": {"count": 3, "delay": 0.005}}
            began = time.perf_counter()
            status, info = await connection.request("POST", "/workflows/countdown/runs", body)
            latencies["POST /workflows/{name}/runs"].append(time.perf_counter() - began)
            assert status == 202, info
            await queue.put(body["run_id"])
        await connection.close()

    async def reader() -> None:
        nonlocal events
        connection = Connection(url)
        while (run_id := await queue.get()) is not None:
            began = time.perf_counter()
            async for line in connection.stream_lines(f"/runs/{run_id}/events"):
                events += line.startswith(b"id: ")
            latencies["GET /runs/{id}/events (to the end)"].append(time.perf_counter() - began)
            began = time.perf_counter()
            status, info = await connection.request("GET", f"/runs/{run_id}")
            latencies["GET /runs/{id}"].append(time.perf_counter() - began)
            assert status == 200 and info["status"] == "completed", info
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
    requests = sum(len(values) for values in latencies.values())
    return {
        "runs": runs,
        "readers": readers,
        "starters": starters,
        "wall_s": round(wall, 2),
        "requests": requests,
        "requests_per_s": round(requests / wall, 1),
        "runs_per_s": round(runs / wall, 1),
        "events_streamed": events,
        "latency_ms": {
            kind: {
                "p50": round(percentile(values, 0.5) * 1000, 1),
                "p99": round(percentile(values, 0.99) * 1000, 1),
                "mean": round(statistics.fmean(values) * 1000, 1),
            }
            for kind, values in latencies.items()
        },
    }


def main() -> None:
    """Parse arguments, run the load, print the figures (and JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--starters", type=int, default=50)
    parser.add_argument("--url", help="Use this server instead of starting one.")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = f"sqlite:///{os.path.join(folder, 'runs.db')}"
        if args.url:
            figures = asyncio.run(load(args.url, args.runs, args.readers, args.starters))
        else:
            with served(store) as url:
                figures = asyncio.run(load(url, args.runs, args.readers, args.starters))
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(
        f"{figures['runs']} runs, {figures['starters']} starters, {figures['readers']} SSE "
        f"readers, SQLite store: {figures['wall_s']} s"
    )
    print(
        f"{figures['requests']} requests, {figures['requests_per_s']} requests/s, "
        f"{figures['runs_per_s']} runs/s, {figures['events_streamed']} events streamed"
    )
    print(f"{'request':<40} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    latency = figures["latency_ms"]
    assert isinstance(latency, dict)
    for kind, row in latency.items():
        print(f"{kind:<40} {row['p50']:>8} {row['p99']:>8} {row['mean']:>8}")


if __name__ == "__main__":
    main()
