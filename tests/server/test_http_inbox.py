"""A run another process executes gets sends and cancels through the store's inbox."""

from __future__ import annotations

import asyncio
import time

import httpx
import server_app
from live_server import ServerFactory

from stepwork import StartEvent
from stepwork._runtime.worker import enqueue
from stepwork._stores.protocol import InboxMessage
from stepwork._stores.url import store_from_url

OTHER = "another-host:4242:feedbeef"  # a live process elsewhere (not on this host)


def held_by_other_process(store_url: str) -> str:
    """Enqueue a greeter run and claim it for ``OTHER`` with a long lease."""

    async def go() -> str:
        workflow = server_app.Greeter(store=store_url, timeout=None, workflow_name="greeter")
        run_id = await enqueue(workflow, StartEvent(), "held-elsewhere")
        assert workflow.store is not None
        assert await workflow.store.claim_run(run_id, OTHER, ttl=600) is not None
        await workflow.store.close()
        return run_id

    return asyncio.run(go())


def inbox(store_url: str, run_id: str) -> list[InboxMessage]:
    async def go() -> list[InboxMessage]:
        store = store_from_url(store_url)
        await store.open()
        try:
            return await store.load_inbox(run_id)
        finally:
            await store.close()

    return asyncio.run(go())


def test_sends_and_cancels_go_to_the_inbox_of_a_run_held_elsewhere(
    start_server: ServerFactory, store_url: str
) -> None:
    run_id = held_by_other_process(store_url)
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=20) as http:
        answer = {"type": "Answer", "data": {"text": "Ada"}, "idempotency_key": "a1"}
        sent = http.post(f"/runs/{run_id}/events", json=answer)
        assert sent.status_code == 202, sent.text
        cancelled = http.post(f"/runs/{run_id}/cancel")
        assert cancelled.status_code == 202, cancelled.text
        assert cancelled.json()["status"] == "running"  # until its holder takes it in
        wrong = http.post(f"/runs/{run_id}/events", json={"type": "Nope", "data": {}})
        assert wrong.status_code == 422  # checked here before anything is stored
    messages = inbox(store_url, run_id)
    assert [(m.kind, m.idempotency_key) for m in messages] == [("event", "a1"), ("cancel", None)]
    assert messages[0].record is not None and "Ada" in str(messages[0].record)
    assert messages[0].at <= time.time()
