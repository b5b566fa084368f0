"""Bearer-token auth and the body-size limit, over a real socket."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from http_helpers import error_of
from live_server import TOKEN, ServerFactory

GOOD = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def guarded(start_server: ServerFactory) -> Iterator[httpx.Client]:
    server = start_server(token=TOKEN, max_body_bytes=1000)
    with httpx.Client(base_url=server.url, timeout=20) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/workflows"),
        ("GET", "/workflows/greeter"),
        ("POST", "/workflows/greeter/runs"),
        ("GET", "/runs"),
        ("GET", "/runs/x"),
        ("GET", "/runs/x/events"),
        ("POST", "/runs/x/events"),
        ("POST", "/runs/x/cancel"),
        ("GET", "/runs/x/history"),
        ("POST", "/runs/x/fork"),
        ("GET", "/openapi.json"),
        ("GET", "/nope"),
    ],
)
def test_every_endpoint_needs_the_token(guarded: httpx.Client, method: str, path: str) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer"},
    ):
        refused = guarded.request(method, path, headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["www-authenticate"] == "Bearer"
        assert error_of(refused)["code"] == "unauthorized"


def test_the_right_token_opens_the_api(guarded: httpx.Client) -> None:
    assert guarded.get("/workflows", headers=GOOD).status_code == 200
    assert guarded.get("/workflows", headers={"Authorization": f"bearer {TOKEN}"}).is_success
    started = guarded.post("/workflows/countdown/runs", json={"wait": True}, headers=GOOD)
    assert started.json()["status"] == "completed"


def test_health_and_the_page_need_no_token(guarded: httpx.Client) -> None:
    assert guarded.get("/health").json() == {"status": "healthy"}
    assert guarded.get("/").status_code == 200


def test_bodies_over_the_limit_get_413(guarded: httpx.Client) -> None:
    big = {"input": {"text": "x" * 2000}}
    declared = guarded.post("/workflows/countdown/runs", json=big, headers=GOOD)
    assert (declared.status_code, error_of(declared)["code"]) == (413, "too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"input": {"text": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'"}}'

    streamed = guarded.post("/workflows/countdown/runs", content=chunks(), headers=GOOD)
    assert (streamed.status_code, error_of(streamed)["code"]) == (413, "too_large")
    small = guarded.post("/workflows/countdown/runs", json={"input": {"count": 0}}, headers=GOOD)
    assert small.status_code == 202
