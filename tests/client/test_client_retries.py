"""Retrying safely with the client: an idempotency key makes a retried send count once, and a
send the server could not store raises ``UnavailableError`` (a real full disk under SQLite)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from client_flows import Interview

from stepwork.client import AsyncClient, Client, ServerError, UnavailableError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from live_server import serving  # tests/server is on the path (conftest)

from stores.store_faults import full_disk

INTRO = {"title": "Ms"}


def _question(client: Client, run_id: str) -> None:
    with client.stream(run_id) as events:
        for event in events:
            if event.type == "Question":
                return


def test_a_send_retried_with_its_key_is_delivered_once(server: Any) -> None:
    with Client(server.url) as client:
        run_id = client.start("interview", INTRO, run_id="once").run_id
        _question(client, run_id)
        for _ in range(3):
            client.send(run_id, "Answer", {"text": "Ada"}, idempotency_key="answer-1")
        assert client.wait(run_id, timeout=10).result == "Hello, Ada!"
        client.send(run_id, "Answer", {"text": "Ada"}, idempotency_key="answer-1")  # ended: same
        assert [entry.kind for entry in client.history(run_id)].count("event") == 1


async def test_the_async_client_sends_the_key(server: Any) -> None:
    async with AsyncClient(server.url) as client:
        run_id = (await client.start("interview", INTRO)).run_id
        async with client.stream(run_id) as events:
            async for event in events:
                if event.type == "Question":
                    break
        await client.send(run_id, "Answer", {"text": "Bo"}, idempotency_key="k")
        await client.send(run_id, "Answer", {"text": "Cy"}, idempotency_key="k")
        assert (await client.wait(run_id, timeout=10)).result == "Hello, Bo!"


def test_a_send_the_server_could_not_store_raises_unavailable(tmp_path: Path) -> None:
    with (
        full_disk(tmp_path) as disk,
        serving(disk.store_url, lambda: {"interview": Interview(timeout=None)}) as start,
    ):
        server = start()
        with Client(server.url) as client:
            run_id = client.start("interview", INTRO, run_id="full").run_id
            _question(client, run_id)
            disk.fill()
            try:
                client.send(run_id, "Answer", {"text": "Ada"}, idempotency_key="a1")
            except UnavailableError as error:
                assert isinstance(error, ServerError)
                assert (error.status, error.code, error.run_id) == (503, "unavailable", "full")
            else:
                raise AssertionError("a send that was not stored was acknowledged")
            disk.free()
            client.send(run_id, "Answer", {"text": "Ada"}, idempotency_key="a1")
            assert client.wait(run_id, timeout=10).result == "Hello, Ada!"
