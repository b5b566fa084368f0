"""HTTP errors from a real server arrive as the client's error types, with the server's words."""

from __future__ import annotations

import json
import pickle
import socket
from typing import Any

import pytest

from stepwork._client.errors import error_from_response
from stepwork._client.follow import ReconnectPolicy, StreamCursor
from stepwork._client.sse import ServerSentEvent
from stepwork.client import (
    AsyncClient,
    Client,
    ClientConnectionError,
    ConflictError,
    InvalidRequestError,
    JournalCorruptClientError,
    NotFoundError,
    RequestTooLargeError,
    StepworkClientError,
    UnauthorizedError,
)
from stepwork.errors import StepworkError


async def test_errors_map_to_the_error_tree(server: Any) -> None:
    async with AsyncClient(server.url) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.get_run("nope")
        assert (caught.value.status, caught.value.code, caught.value.run_id) == (
            404,
            "not_found",
            "nope",
        )
        assert "nope" in str(caught.value)
        with pytest.raises(NotFoundError, match="nope"):
            await client.get_workflow("nope")
        with pytest.raises(NotFoundError, match="nope"):
            await client.start("nope")
        with pytest.raises(NotFoundError):
            await anext(client.stream("nope"))

        with pytest.raises(InvalidRequestError) as invalid:
            await client.start("interview", {})
        assert invalid.value.field is not None and "title" in invalid.value.field
        assert isinstance(invalid.value, ValueError) and isinstance(invalid.value, StepworkError)

        info = await client.start("interview", {"title": "Dr"}, run_id="taken")
        with pytest.raises(ConflictError, match="taken"):
            await client.start("interview", {"title": "Dr"}, run_id="taken")
        with pytest.raises(InvalidRequestError):
            await client.send(info.run_id, "NoSuchEvent", {})
        await client.cancel(info.run_id)
        with pytest.raises(ConflictError):
            await client.send(info.run_id, "Answer", {"text": "late"})
        with pytest.raises(ConflictError):
            await client.cancel(info.run_id)


async def test_tokens_and_body_limits(serve: Any) -> None:
    server = serve(token="s3cret", max_body_bytes=2_000)
    async with AsyncClient(server.url) as anonymous:
        assert await anonymous.health() == {"status": "healthy"}
        with pytest.raises(UnauthorizedError) as caught:
            await anonymous.list_runs()
        assert caught.value.status == 401
    async with AsyncClient(server.url, token="wrong") as wrong:
        with pytest.raises(UnauthorizedError):
            await wrong.list_workflows()
    async with AsyncClient(server.url, token="s3cret") as client:
        assert [w.name for w in await client.list_workflows()] == ["interview"]
        with pytest.raises(RequestTooLargeError) as too_large:
            await client.start("interview", {"title": "x" * 5_000})
        assert too_large.value.status == 413
        assert "s3cret" not in repr(client)


def test_the_sync_client_raises_the_same_errors(server: Any) -> None:
    with Client(server.url) as client:
        with pytest.raises(NotFoundError, match="nope"):
            client.get_run("nope")
        with pytest.raises(NotFoundError):
            next(client.stream("nope"))
        with pytest.raises(InvalidRequestError) as invalid:
            client.start("interview", {"title": 3.5})
        assert invalid.value.field is not None and "title" in invalid.value.field


def test_an_unreachable_server_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        with Client(f"http://127.0.0.1:{port}", timeout=5) as client:
            with pytest.raises(ClientConnectionError, match="GET /health") as caught:
                client.health()
    assert isinstance(caught.value, ConnectionError)
    assert isinstance(caught.value, StepworkClientError)


def test_a_journal_corrupt_answer_or_frame_names_the_record_and_survives_pickling() -> None:
    body = {
        "error": {
            "code": "journal_corrupt",
            "message": "The journal is corrupt at run 'r', tick record seq 3: it is missing.",
            "field": None,
            "run_id": "r",
            "record": "tick",
            "seq": 3,
        }
    }
    error = error_from_response(409, body)
    assert isinstance(error, JournalCorruptClientError) and isinstance(error, ConflictError)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.status, copy.code, copy.run_id, copy.record, copy.seq) == (
        JournalCorruptClientError,
        409,
        "journal_corrupt",
        "r",
        "tick",
        3,
    )

    cursor = StreamCursor("r", after=-1, policy=ReconnectPolicy())
    with pytest.raises(JournalCorruptClientError, match="tick record seq 3"):
        cursor.accept(ServerSentEvent("error", json.dumps(body), None))
    with pytest.raises(StepworkClientError, match="not an error body") as caught:
        cursor.accept(ServerSentEvent("error", "[1]", None))
    assert not isinstance(caught.value, ConflictError)
