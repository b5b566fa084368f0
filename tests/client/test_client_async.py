"""AsyncClient against a real uvicorn server on 127.0.0.1: a person answers, streams drop."""

from __future__ import annotations

from typing import Any

import pytest
from client_flows import Question
from client_relay import Relay

from stepwork.client import (
    AsyncClient,
    ClientConnectionError,
    ClientTimeoutError,
    ConflictError,
    EventEnvelope,
    InvalidRequestError,
    NotFoundError,
    ReconnectPolicy,
)

INTRO = {"title": "Dr"}


def offsets(events: list[EventEnvelope]) -> list[int]:
    return [event.offset for event in events]


def assert_increasing(events: list[EventEnvelope]) -> None:
    seen = offsets(events)
    assert seen == sorted(set(seen)), seen


async def test_a_person_answers_through_the_client(server: Any) -> None:
    async with AsyncClient(server.url) as client:
        assert await client.health() == {"status": "healthy"}
        (workflow,) = await client.list_workflows()
        assert workflow.name == "interview"
        assert workflow.start_schema["properties"]["title"]["type"] == "string"
        assert (await client.get_workflow("interview")).graph == workflow.graph

        info = await client.start("interview", INTRO, run_id="hitl-1")
        assert (info.run_id, info.workflow, info.status) == ("hitl-1", "interview", "running")

        seen: list[EventEnvelope] = []
        async with client.stream("hitl-1") as events:
            async for event in events:
                seen.append(event)
                if event.type == "Question":
                    question = event.as_event(Question)
                    assert question.prompt == "What is your name, Dr?"
                    await client.send("hitl-1", "Answer", {"text": "Ada"})
        assert [event.type for event in seen] == ["Progress", "Question", "Progress", "StopEvent"]
        assert [event.terminal for event in seen] == [False, False, False, True]
        assert seen[-1].data == {"result": "Hello, Ada!"}
        assert_increasing(seen)

        done = await client.wait("hitl-1")
        assert (done.status, done.result, done.error) == ("completed", "Hello, Ada!", None)
        assert await client.get_run("hitl-1") == done

        (listed,) = await client.list_runs(workflow="interview", status=["completed"], limit=5)
        assert listed.run_id == "hitl-1"
        assert await client.list_runs(status="failed") == []
        assert await client.list_runs(created_after=done.created_at + 1) == []

        history = await client.history("hitl-1")
        assert history[0].kind == "start"
        assert history[-1].status == "completed"
        # Internal events are there when asked for, and only then.
        everything = [event async for event in client.stream("hitl-1", internal=True)]
        assert len(everything) > len(seen)
        assert any(event.internal for event in everything)


async def test_a_run_continues_from_a_finished_one(server: Any) -> None:
    async with AsyncClient(server.url) as client:
        await client.start("interview", INTRO, run_id="first")
        await client.send("first", "Answer", {"text": "Ada"})
        assert (await client.wait("first")).result == "Hello, Ada!"
        await client.start("interview", INTRO, run_id="second", continue_from="first")
        async with client.stream("second") as events:
            async for event in events:
                if event.type == "Question":
                    assert event.as_event(Question).prompt == "Welcome back, Dr; still Ada?"
                    await client.send("second", "Answer", {"text": "Ada L."})
        assert (await client.wait("second")).result == "Hello, Ada L.!"
        await client.start("interview", INTRO, run_id="waiting")
        with pytest.raises(ConflictError, match="has not finished") as conflict:
            await client.start("interview", INTRO, continue_from="waiting")
        assert conflict.value.field == "continue_from"
        with pytest.raises(NotFoundError) as missing:
            await client.start("interview", INTRO, continue_from="nobody")
        assert missing.value.field == "continue_from"


async def test_run_waits_and_wait_times_out_while_the_run_goes_on(server: Any) -> None:
    async with AsyncClient(server.url) as client:
        with pytest.raises(ClientTimeoutError, match=r"did not end within 0\.2 s") as caught:
            await client.run("interview", INTRO, run_id="unanswered", timeout=0.2)
        assert caught.value.run_id == "unanswered"
        assert (await client.get_run("unanswered")).status == "running"
        cancelled = await client.cancel("unanswered")
        assert cancelled.status == "cancelled"
        assert (await client.wait("unanswered", timeout=10)).status == "cancelled"


async def test_a_reader_that_hangs_up_resumes_after_its_last_offset(server: Any) -> None:
    async with AsyncClient(server.url) as client:
        run_id = (await client.start("interview", INTRO)).run_id
        first: list[EventEnvelope] = []
        async with client.stream(run_id) as events:
            async for event in events:
                first.append(event)
                if event.type == "Question":
                    break  # hang up mid-run
            resume_at = events.last_offset
        assert resume_at == first[-1].offset
        await client.send(run_id, "Answer", {"text": "Grace"})
        rest = [event async for event in client.stream(run_id, after=resume_at)]
        assert [event.type for event in first + rest] == [
            "Progress",
            "Question",
            "Progress",
            "StopEvent",
        ]
        assert_increasing(first + rest)
        # After the terminal event there is nothing more, and the stream says so at once.
        assert [event async for event in client.stream(run_id, after=rest[-1].offset)] == []


async def test_a_dropped_connection_is_resumed_inside_the_same_iterator(
    server: Any, relay: Relay
) -> None:
    async with AsyncClient(relay.url) as client:
        run_id = (await client.start("interview", INTRO)).run_id
        seen: list[EventEnvelope] = []
        async with client.stream(run_id) as events:
            async for event in events:
                seen.append(event)
                if event.type == "Question":
                    relay.cut()  # the network drops every connection
                    await client.send(run_id, "Answer", {"text": "Lin"})
        assert [event.type for event in seen] == ["Progress", "Question", "Progress", "StopEvent"]
        assert_increasing(seen)
        # The first connection carried the start and the stream; the answer and the resumed
        # stream came over new ones (the pool may share one between them).
        assert relay.accepted >= 2


async def test_the_stream_survives_a_server_restart(serve: Any, server: Any, relay: Relay) -> None:
    async with AsyncClient(relay.url) as client:
        run_id = (await client.start("interview", INTRO)).run_id
        events = client.stream(run_id)
        before = [await anext(events), await anext(events)]
        assert [event.type for event in before] == ["Progress", "Question"]

        server.stop()  # the stream's connection ends with the server
        relay.upstream = serve().port  # a new server on the same store resumes the run
        await client.send(run_id, "Answer", {"text": "Barbara"})

        after = [event async for event in events]
        assert [event.type for event in after] == ["Progress", "StopEvent"]
        assert_increasing(before + after)
        assert (await client.wait(run_id)).result == "Hello, Barbara!"


async def test_a_stream_gives_up_after_its_reconnect_attempts(server: Any, relay: Relay) -> None:
    policy = ReconnectPolicy(attempts=2, first_delay=0.01)
    async with AsyncClient(relay.url, reconnect=policy) as client:
        run_id = (await client.start("interview", INTRO)).run_id
        async with client.stream(run_id) as events:
            assert [(await anext(events)).type for _ in range(2)] == ["Progress", "Question"]
            relay.close()  # gone for good: every reconnect is refused
            with pytest.raises(ClientConnectionError, match=run_id) as caught:
                await anext(events)
        assert caught.value.run_id == run_id


async def test_run_then_fork_with_another_answer(server: Any) -> None:
    async with AsyncClient(server.url) as client:
        run_id = (await client.start("interview", INTRO, run_id="original")).run_id
        async for event in client.stream(run_id):
            if event.type == "Question":
                await client.send(run_id, "Answer", {"text": "Ada"})
        history = await client.history(run_id)
        # Keep the ticks up to the question, then answer differently.
        asked = next(e.seq for e in history if e.summary.endswith("returned Question")) + 1
        fork = await client.fork(
            run_id,
            at=asked,
            events=[{"type": "Answer", "data": {"text": "Bob"}}],
            new_run_id="forked",
        )
        assert (fork.run_id, fork.workflow) == ("forked", "interview")
        assert (await client.wait("forked", timeout=10)).result == "Hello, Bob!"
        assert (await client.get_run(run_id)).result == "Hello, Ada!"
        with pytest.raises(InvalidRequestError) as caught:
            await client.fork(run_id, at=10_000)
        assert caught.value.field == "at"
        with pytest.raises(ConflictError):
            await client.fork(run_id, at=asked, new_run_id="forked")
