"""The blocking Client against a real server: the same flow as the async one, no event loop."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from client_flows import Interview
from client_relay import Relay

from stepwork.client import (
    Client,
    ClientConnectionError,
    ClientTimeoutError,
    EventEnvelope,
    ReconnectPolicy,
)

INTRO = {"title": "Ms"}


def test_a_person_answers_through_the_sync_client(server: Any) -> None:
    with Client(server.url) as client:
        assert client.health() == {"status": "healthy"}
        assert [w.name for w in client.list_workflows()] == ["interview"]
        run_id = client.start("interview", INTRO).run_id
        seen: list[EventEnvelope] = []
        with client.stream(run_id) as events:
            for event in events:
                seen.append(event)
                if event.type == "Question":
                    assert event.data == {"prompt": "What is your name, Ms?"}
                    client.send(run_id, "Answer", {"text": "Ada"})
        assert [event.type for event in seen] == ["Progress", "Question", "Progress", "StopEvent"]
        done = client.wait(run_id, timeout=10)
        assert (done.status, done.result) == ("completed", "Hello, Ada!")
        assert [run.run_id for run in client.list_runs(status="completed")] == [run_id]
        assert client.history(run_id)[-1].status == "completed"
        assert list(client.stream(run_id, after=seen[-1].offset)) == []
        assert client.get_workflow("interview").description == Interview.__doc__
        fork = client.fork(run_id, at=1, new_run_id="again")  # just started: asks again
        assert (fork.run_id, fork.workflow) == ("again", "interview")
        assert client.cancel("again").status == "cancelled"


def test_sync_run_waits_for_an_answer_sent_from_another_thread(server: Any) -> None:
    with Client(server.url) as client:
        run_id = client.start("interview", INTRO).run_id
        with pytest.raises(ClientTimeoutError, match=r"did not end within 0\.2 s"):
            client.wait(run_id, timeout=0.2)

        def answer() -> None:
            with Client(server.url) as other:
                for event in other.stream(run_id):
                    if event.type == "Question":
                        other.send(run_id, "Answer", {"text": "Hedy"})

        person = threading.Thread(target=answer)
        person.start()
        assert client.wait(run_id, timeout=10).result == "Hello, Hedy!"
        person.join(timeout=10)
        # Nobody answers this one: run() gives up waiting; the run stays, and can be cancelled.
        with pytest.raises(ClientTimeoutError):
            client.run("interview", INTRO, run_id="r2", timeout=0.2)
        assert client.get_run("r2").status == "running"
        assert client.cancel("r2").status == "cancelled"


def test_the_sync_stream_resumes_after_a_server_restart(
    serve: Any, server: Any, relay: Relay
) -> None:
    with Client(relay.url) as client:
        run_id = client.start("interview", INTRO).run_id
        events = client.stream(run_id)
        before = [next(events), next(events)]
        assert [event.type for event in before] == ["Progress", "Question"]
        assert events.last_offset == before[-1].offset
        server.stop()
        relay.upstream = serve().port
        client.send(run_id, "Answer", {"text": "Joan"})
        after = list(events)
        assert [event.type for event in after] == ["Progress", "StopEvent"]
        assert [e.offset for e in before + after] == sorted({e.offset for e in before + after})
        assert client.get_run(run_id).result == "Hello, Joan!"


def test_a_sync_wait_resumes_after_a_cut_and_gives_up_when_the_server_is_gone(
    server: Any, relay: Relay
) -> None:
    policy = ReconnectPolicy(attempts=2, first_delay=0.01)
    with Client(relay.url, reconnect=policy) as client:
        run_id = client.start("interview", INTRO).run_id
        with client.stream(run_id) as events:
            assert [next(events).type for _ in range(2)] == ["Progress", "Question"]
            relay.cut()
            client.send(run_id, "Answer", {"text": "Rosalind"})
            assert [event.type for event in events] == ["Progress", "StopEvent"]

        waiting = client.start("interview", INTRO).run_id
        relay.close()  # gone for good: every reconnect is refused
        with pytest.raises(ClientConnectionError) as caught:
            client.wait(waiting, timeout=10)
        assert caught.value.run_id == waiting
