"""Fuzz the API from its own OpenAPI document (schemathesis), with a bounded number of cases:
no input makes it answer 5xx, and every response matches the document (status codes, content
types, body and SSE event schemas); requests that break the document are refused."""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from http_helpers import parse_sse
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    multiple,
    rule,
    run_state_machine_as_test,
)
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


# -- stateful: sequences of calls on the runs earlier calls created ----------------------------
#
# Hypothesis drives the sequence (a rule per route, run ids flowing between them through a
# bundle); schemathesis draws each request from the document, as above. Bodies are nudged only
# where chance would never reach a live run's handlers: sent events get a real event type, and
# start inputs lose the fields that set a countdown's length (a random count would run for
# ever). Every answer must be below 500 and match the document, every run the server said it
# started must exist, and every event it acknowledged (202) must be in its run's journal. The
# seed and the number of examples and steps are fixed below, so every run makes the same calls
# (only run ids and timings differ).

STATEFUL_SEED = 12
STATEFUL = settings(
    max_examples=6,
    stateful_step_count=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
PLAIN = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict({"auth": {"openapi": {"bearer": {"bearer": TOKEN}}}}),
)
WORKFLOWS = ["greeter", "survey", "countdown", "tally", "fails"]
LIVE_FIRST = ["greeter", "survey"] * 3 + WORKFLOWS  # runs that wait for an answer, mostly
EVENT_TYPES = ["Question", "Progress", "Answer", "StartEvent", "Nope"]
MACHINES = itertools.count()


class ApiUse(RuleBasedStateMachine):
    """Starts, answers, forks, cancels, lists, reads and streams runs on one live server."""

    runs = Bundle("runs")

    def __init__(self, server: LiveServer) -> None:
        super().__init__()
        self.server = server
        self.http = httpx.Client(base_url=server.url, headers=AUTH, timeout=10)
        self.acknowledged: Counter[tuple[str, str]] = Counter()
        self.started: list[str] = []
        # Run ids a request chooses are made this machine's own: an id an earlier example took
        # would make the same request 409 when hypothesis replays it.
        self.prefix = f"m{next(MACHINES)}-"

    def own_run_id(self, body: Any) -> None:
        if isinstance(body, dict) and isinstance(body.get("run_id"), str):
            body["run_id"] = (self.prefix + body["run_id"])[:128]

    def call(self, case: schemathesis.Case) -> Any:
        response = case.call(base_url=self.server.url, timeout=10)
        assert response.status_code < 500, (case.method, case.path, response.text)
        case.validate_response(response, excluded_checks=[positive_data_acceptance])
        return response

    def draw(self, data: st.DataObject, path: str, method: str, **parts: Any) -> Any:
        return data.draw(PLAIN[path][method].as_strategy(**parts))

    def created(self, *responses: Any) -> Any:
        ids = [r.json()["run_id"] for r in responses if r.status_code in (200, 202)]
        self.started.extend(ids)
        return multiple(*ids)

    def start_case(self, name: str, data: st.DataObject) -> Any:
        case = self.draw(data, "/workflows/{name}/runs", "POST", path_parameters={"name": name})
        if isinstance(case.body, dict):
            case.body["wait"] = False  # a run that waits for a person would never answer
            case.body.pop("continue_from", None)  # a random one names no run: always 404
            self.own_run_id(case.body)
            inputs = case.body.get("input")
            if isinstance(inputs, dict):
                for key in ("count", "delay", "add"):
                    inputs.pop(key, None)
        return self.call(case)

    @initialize(target=runs, data=st.data())
    def live_runs(self, data: st.DataObject) -> Any:
        return self.created(*(self.start_case(name, data) for name in ("greeter", "survey")))

    @rule(target=runs, name=st.sampled_from(LIVE_FIRST), data=st.data())
    def start(self, name: str, data: st.DataObject) -> Any:
        return self.created(self.start_case(name, data))

    @rule(
        run_id=runs,
        kinds=st.lists(st.sampled_from(EVENT_TYPES), min_size=1, max_size=4),
        data=st.data(),
    )
    def send(self, run_id: str, kinds: list[str], data: st.DataObject) -> None:
        for kind in kinds:  # a burst, as a person's client may send
            route = "/runs/{run_id}/events"
            case = self.draw(data, route, "POST", path_parameters={"run_id": run_id})
            if isinstance(case.body, dict):
                case.body["type"] = kind
                text = data.draw(st.text(max_size=20))
                case.body.setdefault("data", {}).update({"text": text, "prompt": text, "left": 1})
            if self.call(case).status_code == 202:
                self.acknowledged[(run_id, kind)] += 1

    @rule(target=runs, run_id=runs, data=st.data())
    def fork(self, run_id: str, data: st.DataObject) -> Any:
        case = self.draw(data, "/runs/{run_id}/fork", "POST", path_parameters={"run_id": run_id})
        if isinstance(case.body, dict) and isinstance(case.body.get("at"), int):
            case.body["at"] = 1 + case.body["at"] % 3
        self.own_run_id(case.body)
        return self.created(self.call(case))

    @rule(
        run_id=runs,
        route=st.sampled_from(
            ["/runs/{run_id}", "/runs/{run_id}/history"] * 2
            + ["/runs/{run_id}/cancel", "/runs", "/workflows", "/workflows/{name}"]
        ),
        data=st.data(),
    )
    def visit(self, run_id: str, route: str, data: st.DataObject) -> None:
        method = "POST" if route.endswith("/cancel") else "GET"
        parts = {"run_id": run_id} if "{run_id}" in route else None
        if "{name}" in route:
            parts = {"name": data.draw(st.sampled_from(WORKFLOWS))}
        self.call(self.draw(data, route, method, path_parameters=parts))

    @rule(run_id=runs, data=st.data())
    def stream(self, run_id: str, data: st.DataObject) -> None:
        case = self.draw(data, "/runs/{run_id}/events", "GET", path_parameters={"run_id": run_id})
        if self.http.get(f"/runs/{run_id}").json()["status"] != "running":
            self.call(case)  # a finished run's stream ends: read and check it whole
            return
        # A live run's stream goes on: read it up to the first heartbeat after the backlog.
        with self.http.stream("GET", f"/runs/{run_id}/events") as response:
            assert response.status_code == 200, response.read()
            for frame in parse_sse(response.iter_lines()):
                if frame.comment is not None:
                    break
                assert frame.envelope["type"]

    def teardown(self) -> None:
        try:
            for run_id in self.started:
                assert self.http.get(f"/runs/{run_id}").status_code == 200, run_id
            for (run_id, kind), count in self.acknowledged.items():
                entries = self.http.get(f"/runs/{run_id}/history").json()["entries"]
                journaled = sum(
                    1
                    for entry in entries
                    if entry["kind"] == "event" and entry["summary"].startswith(f"{kind} ")
                )
                assert journaled >= count, (run_id, kind, count, entries)
        finally:
            self.http.close()


def test_stateful_use_finds_no_5xx_and_loses_no_acknowledged_event(
    positive_server: LiveServer,
) -> None:
    machine = seed(STATEFUL_SEED)(lambda: ApiUse(positive_server))
    run_state_machine_as_test(machine, settings=STATEFUL)
