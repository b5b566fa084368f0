"""Fuzz the API from its own OpenAPI document (schemathesis), with a bounded number of cases:
no input makes it answer 5xx, and every response matches the document (status codes, content
types, body and SSE event schemas); requests that break the document are refused."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from live_server import TOKEN, LiveServer
from schemathesis.specs.openapi.checks import positive_data_acceptance

import stepwork
from stepwork._server.openapi import openapi_document

AUTH = {"Authorization": f"Bearer {TOKEN}"}

# The document is built from the models alone, so it is loaded without a server (a test below
# checks the server serves this very document). Path parameters are narrowed to names that
# exist (and one that does not), so the cases reach the handlers instead of stopping at 404;
# runs that would never end (a wait for a person) are kept away from routes that wait for the
# end (streams, ``wait: true``).
DOCUMENT = openapi_document(stepwork.__version__, token_required=True)
PATH_VALUES = {
    ("get", "/workflows/{name}"): ["greeter", "survey", "countdown", "fails", "nope"],
    ("post", "/workflows/{name}/runs"): ["fails", "nope"],
    ("get", "/runs/{run_id}"): ["done", "waiting", "nope"],
    ("get", "/runs/{run_id}/events"): ["done", "nope"],
    ("post", "/runs/{run_id}/events"): ["waiting", "done", "nope"],
    ("post", "/runs/{run_id}/cancel"): ["done", "nope"],
    ("get", "/runs/{run_id}/history"): ["done", "waiting", "nope"],
    ("post", "/runs/{run_id}/fork"): ["done", "waiting", "nope"],
}


def narrowed(document: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(document)
    for (method, path), values in PATH_VALUES.items():
        operation = document["paths"][path][method]
        operation["parameters"] = [  # new objects: operations share parameter objects
            {**parameter, "schema": {"enum": values}} if parameter["in"] == "path" else parameter
            for parameter in operation["parameters"]
        ]
    return document


def loaded(mode: str) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {"auth": {"openapi": {"bearer": {"bearer": TOKEN}}}, "generation": {"mode": mode}}
    )
    return schemathesis.openapi.from_dict(narrowed(DOCUMENT), config=config)


# Valid and invalid requests go to separate servers: a run a valid request created (say with
# id "AAA") would otherwise turn a later invalid path value "AAA" into a real run.
positive = loaded("positive")
negative = loaded("negative")
FUZZ = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def start_fuzz_server(tmp: pytest.TempPathFactory) -> LiveServer:
    store = f"sqlite:///{tmp.mktemp('fuzz') / 'runs.db'}"
    server = LiveServer(store=store, token=TOKEN, heartbeat=0.05, grace_period=0.5).start()
    with httpx.Client(base_url=server.url, headers=AUTH) as http:  # runs the paths name
        http.post("/workflows/countdown/runs", json={"run_id": "done", "wait": True})
        http.post("/workflows/survey/runs", json={"run_id": "waiting"})
    return server


@pytest.fixture(scope="module")
def positive_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_fuzz_server(tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def negative_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_fuzz_server(tmp_path_factory)
    yield server
    server.stop()


@positive.parametrize()
@FUZZ
def test_valid_requests(case: schemathesis.Case, positive_server: LiveServer) -> None:
    response = case.call(base_url=positive_server.url, timeout=10)
    assert response.status_code < 500, response.text
    # A body can match the document and still be refused by the run it is for (an event type
    # that workflow does not have, an `at` past the run's ticks): that is a 422, not a bug.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])


@negative.parametrize()
@FUZZ
def test_invalid_requests(case: schemathesis.Case, negative_server: LiveServer) -> None:
    response = case.call(base_url=negative_server.url, timeout=10)
    assert response.status_code < 500, response.text
    case.validate_response(response)


def test_the_server_serves_the_fuzzed_document(positive_server: LiveServer) -> None:
    document = httpx.get(f"{positive_server.url}/openapi.json", headers=AUTH).json()
    assert document == DOCUMENT
    assert document["openapi"] == "3.1.0"


@pytest.mark.parametrize("token_required", [True, False])
def test_the_document_is_valid_openapi_3_1(token_required: bool) -> None:
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

    document = openapi_document(stepwork.__version__, token_required=token_required)
    assert [str(error) for error in OPENAPI_31_VALIDATOR.iter_errors(document)] == []
