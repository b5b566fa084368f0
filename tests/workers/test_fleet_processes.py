"""The compose-style recipe of ``docs/scale-out.md`` with plain processes: one PostgreSQL (the
test server), two ``stepwork worker`` processes and two ``stepwork serve --workers 0`` API
nodes. Runs start through node A and are streamed through node B while a worker is SIGKILLed
mid-run; every run ends once with the right result, and the stream through B sees each event
once, in order. A human wait is answered through node B, which executes nothing: the event
goes through the run's inbox (``Store.deliver``) to whichever worker holds or claims it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stepwork._stores.protocol import Store
from stepwork._stores.url import store_from_url

HERE = Path(__file__).parent
FLOW = str(HERE / "fleet_flow.py")
TTL = 1.0
RUNS = 12
PARAMS = {"format": "ndjson", "internal": "true"}  # every event, so every offset

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(HERE)}


def start_worker(dsn: str, log: Path) -> subprocess.Popen[str]:
    """``stepwork worker`` on ``dsn``; returns once it says it is ready."""
    with log.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "stepwork", "worker", FLOW, "--store", dsn,
             "--concurrency", "4", "--lease-ttl", str(TTL), "--heartbeat", "0.3", "--poll", "0.2"],
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=_env(),
        )  # fmt: skip
    assert child.stdout is not None
    assert "ready" in child.stdout.readline(), log.read_text()
    return child


def start_node(dsn: str, log: Path) -> tuple[subprocess.Popen[str], str]:
    """``stepwork serve --workers 0`` on ``dsn``; returns once it answers ``/health``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with log.open("w") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "stepwork", "serve", FLOW, "--store", dsn, "--workers", "0",
             "--port", str(port), "--log-level", "warning"],
            stdout=output, stderr=subprocess.STDOUT, text=True, env=_env(),
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:  # polled: a state of another process, which signals nothing
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return child, url
        assert child.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


@contextlib.contextmanager
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Every process started in the block is killed at its end."""
    started: list[subprocess.Popen[str]] = []
    try:
        yield started
    finally:
        for child in started:
            if child.poll() is None:
                child.kill()
            child.wait()
            if child.stdout is not None:
                child.stdout.close()


async def wait_for(store: Store, check: Any, seconds: float) -> None:
    """Poll the store (a state, not a guess) until ``check(runs)``."""
    deadline = time.monotonic() + seconds
    while True:
        runs = await store.list_runs()
        if check(runs):
            return
        assert time.monotonic() < deadline, [(r.run_id, r.status, r.owner) for r in runs]
        await asyncio.sleep(0.05)


async def follow(url: str, run_id: str) -> list[dict[str, Any]]:
    """Every event of ``run_id`` through ``url``'s NDJSON stream, to the terminal one."""
    async with (
        httpx.AsyncClient(timeout=60) as http,
        http.stream("GET", f"{url}/runs/{run_id}/events", params=PARAMS) as answer,
    ):
        assert answer.status_code == 200
        return [json.loads(line) async for line in answer.aiter_lines() if line]


async def test_api_nodes_and_workers_share_one_postgresql_and_survive_a_killed_worker(
    postgres_dsn: str, tmp_path: Path
) -> None:
    store = store_from_url(postgres_dsn)
    await store.open()
    try:
        with processes() as started:
            one = start_worker(postgres_dsn, tmp_path / "one.log")
            started.append(one)
            node_a, url_a = start_node(postgres_dsn, tmp_path / "a.log")
            started.append(node_a)
            node_b, url_b = start_node(postgres_dsn, tmp_path / "b.log")
            started.append(node_b)
            async with httpx.AsyncClient(base_url=url_a, timeout=30) as http:
                for n in range(RUNS):
                    body = {"input": {"n": n}, "run_id": f"run-{n:02}"}
                    answer = await http.post("/workflows/work/runs", json=body)
                    assert answer.status_code == 202, answer.text
            marker = f":{one.pid}:"
            await wait_for(
                store, lambda runs: any(marker in (r.owner or "") for r in runs if r.ticks > 1), 30
            )
            one.send_signal(signal.SIGSTOP)  # frozen: the runs it holds stay unfinished
            running = await store.list_runs(status=["running"])
            held = [r for r in running if marker in (r.owner or "")]
            assert held, "worker one finished its runs before it could be killed"
            followed = held[0]  # streamed through B from before the kill to after the takeover
            streamed = asyncio.ensure_future(follow(url_b, followed.run_id))
            one.send_signal(signal.SIGKILL)  # mid-run: its runs are taken over after their lease
            one.wait()
            two = start_worker(postgres_dsn, tmp_path / "two.log")
            started.append(two)
            await wait_for(store, lambda runs: all(r.status == "completed" for r in runs), 60)
            events = await asyncio.wait_for(streamed, 30)
            assert [e["offset"] for e in events] == list(range(len(events)))  # once each, in order
            n = int(followed.run_id.split("-")[1])
            assert events[-1]["terminal"] and events[-1]["data"]["result"] == n * 6
            assert (await store.get_run(followed.run_id)).epoch > followed.epoch  # taken over
            async with httpx.AsyncClient(base_url=url_b, timeout=30) as http:
                listed = (await http.get("/runs", params={"limit": 100})).json()["runs"]
            assert sorted(r["run_id"] for r in listed) == [f"run-{n:02}" for n in range(RUNS)]
            for info in listed:
                n = int(info["run_id"].split("-")[1])
                assert (info["status"], info["result"]) == ("completed", n * 6)
                stored = await store.load_events(info["run_id"])
                ends = [at for at, record in stored if record["__model__"].endswith(".StopEvent")]
                assert ends == [len(stored) - 1]  # ended once
            for child in (two, node_a, node_b):
                child.send_signal(signal.SIGTERM)  # uvicorn re-raises it once shut down
                assert child.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        await store.close()


async def test_a_human_wait_is_answered_through_another_api_node(
    postgres_dsn: str, tmp_path: Path
) -> None:
    with processes() as started:
        started.append(start_worker(postgres_dsn, tmp_path / "worker.log"))
        node_a, url_a = start_node(postgres_dsn, tmp_path / "a.log")
        started.append(node_a)
        node_b, url_b = start_node(postgres_dsn, tmp_path / "b.log")
        started.append(node_b)
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.post(f"{url_a}/workflows/ask/runs", json={"run_id": "ask-1"})
            assert answer.status_code == 202
            async with http.stream(
                "GET", f"{url_b}/runs/ask-1/events", params={"format": "ndjson"}
            ) as stream:
                async for line in stream.aiter_lines():
                    if line and json.loads(line)["type"] == "Question":
                        break  # the run waits for the person
            body = {"type": "Answer", "data": {"text": "Ada"}}
            sent = await http.post(f"{url_b}/runs/ask-1/events", json=body)
            assert sent.status_code == 202, sent.text
            assert (await follow(url_b, "ask-1"))[-1]["terminal"]
            info = (await http.get(f"{url_b}/runs/ask-1")).json()
            assert (info["status"], info["result"]) == ("completed", "Hello, Ada!")
