"""Every route of docs/http-api.md against a real server: success and error codes and shapes."""

from __future__ import annotations

import httpx
from http_helpers import error_of, read_events, wait_for_event, wait_for_status

from stepwork._server.schemas import HistoryOut, RunInfo, RunList, WorkflowInfo, WorkflowList

JSON = {"Content-Type": "application/json"}


def start(http: httpx.Client, name: str, **body: object) -> httpx.Response:
    return http.post(f"/workflows/{name}/runs", json=body)


def test_health_and_page(http: httpx.Client) -> None:
    assert http.get("/health").json() == {"status": "healthy"}
    page = http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text.lower()


def test_workflows_are_listed_with_schema_and_graph(http: httpx.Client) -> None:
    body = http.get("/workflows").json()
    WorkflowList.model_validate(body)
    names = [w["name"] for w in body["details"]]
    assert names == ["greeter", "survey", "countdown", "fails", "tally"]
    assert body["workflows"] == names  # the names alone, as LlamaIndex Workflows' clients read
    countdown = http.get("/workflows/countdown").json()
    WorkflowInfo.model_validate(countdown)
    assert countdown["start_schema"]["properties"]["count"]["default"] == 3
    assert {node["id"] for node in countdown["graph"]["nodes"]} >= {"count", "CountdownStart"}
    assert countdown["description"] == "Publish ``count`` progress events, then finish."
    missing = http.get("/workflows/nope")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "not_found"


def test_start_returns_202_at_once_and_200_when_waiting(http: httpx.Client) -> None:
    started = start(http, "countdown", input={"count": 2}, run_id="c1")
    assert started.status_code == 202
    info = RunInfo.model_validate(started.json())
    assert (info.run_id, info.workflow, info.error) == ("c1", "countdown", None)
    assert wait_for_status(http, "c1", "completed")["result"] == "counted 2"
    waited = start(http, "countdown", input={"count": 1, "delay": 0}, wait=True)
    assert waited.status_code == 200
    assert waited.json()["status"] == "completed"
    assert waited.json()["result"] == "counted 1"
    assert waited.json()["created_at"] <= waited.json()["updated_at"]


def test_a_run_continues_from_a_finished_runs_state(http: httpx.Client) -> None:
    assert start(http, "tally", input={"add": 5}, run_id="t1", wait=True).json()["result"] == 5
    again = start(http, "tally", input={"add": 2}, run_id="t2", continue_from="t1", wait=True)
    assert (again.status_code, again.json()["result"]) == (200, 7)
    assert start(http, "tally", continue_from="t2", wait=True).json()["result"] == 8
    assert http.get("/runs/t1").json()["result"] == 5  # the run continued from is unchanged
    history = http.get("/runs/t2/history").json()["entries"]
    assert history[0]["summary"].endswith("from a restored or carried-over context")

    missing = start(http, "tally", continue_from="nope")
    assert (missing.status_code, error_of(missing)["field"]) == (404, "continue_from")
    other = start(http, "countdown", continue_from="t1")
    assert (other.status_code, error_of(other)["field"]) == (409, "continue_from")
    assert "only a run of the same workflow" in error_of(other)["message"]
    assert start(http, "greeter", run_id="asking").status_code == 202
    waiting = start(http, "greeter", continue_from="asking")
    assert (waiting.status_code, error_of(waiting)["field"]) == (409, "continue_from")
    assert "has not finished" in error_of(waiting)["message"]
    bad = start(http, "tally", continue_from="no spaces allowed")
    assert (bad.status_code, error_of(bad)["field"]) == (422, "continue_from")


def test_start_errors(http: httpx.Client) -> None:
    assert start(http, "countdown", run_id="taken", wait=True).status_code == 200
    conflict = start(http, "countdown", run_id="taken")
    assert conflict.status_code == 409
    assert error_of(conflict) == {**error_of(conflict), "code": "conflict", "field": "run_id"}
    assert start(http, "nope").status_code == 404
    bad_input = start(http, "countdown", input={"count": "many"})
    assert bad_input.status_code == 422
    assert error_of(bad_input)["field"] == "input.count"
    unknown_key = start(http, "countdown", inputs={})
    assert error_of(unknown_key)["field"] == "inputs"
    bad_id = start(http, "countdown", run_id="has/slash")
    assert (bad_id.status_code, error_of(bad_id)["field"]) == (422, "run_id")
    for raw in (b"{nope", b"[1, 2]", b'{"input": NaN}', b"\xff"):
        malformed = http.post("/workflows/countdown/runs", content=raw, headers=JSON)
        assert malformed.status_code == 422, raw
        assert error_of(malformed)["code"] == "invalid"


def test_a_failed_run_names_its_step(http: httpx.Client) -> None:
    failed = start(http, "fails", wait=True, run_id="f1").json()
    assert failed["status"] == "failed"
    assert failed["result"] is None
    assert failed["error"]["type"] == "ValueError"
    assert failed["error"]["step"] == "explode"
    assert "boom" in failed["error"]["message"]


def test_runs_are_listed_newest_first_with_filters(http: httpx.Client) -> None:
    # Runs created in the same clock tick are ordered by when they were stored.
    start(http, "countdown", input={"count": 0}, run_id="a", wait=True)
    start(http, "fails", run_id="b", wait=True)
    start(http, "greeter", run_id="c")
    body = http.get("/runs").json()
    RunList.model_validate(body)
    assert [r["run_id"] for r in body["runs"]] == ["c", "b", "a"]
    assert [r["run_id"] for r in http.get("/runs?workflow=fails").json()["runs"]] == ["b"]
    both = http.get("/runs", params=[("workflow", "fails"), ("workflow", "greeter")]).json()
    assert [r["run_id"] for r in both["runs"]] == ["c", "b"]
    statuses = http.get("/runs", params=[("status", "completed"), ("status", "running")])
    assert [r["run_id"] for r in statuses.json()["runs"]] == ["c", "a"]
    middle = http.get("/runs").json()["runs"][1]["created_at"]
    assert [r["run_id"] for r in http.get(f"/runs?created_after={middle}").json()["runs"]] == ["c"]
    before = http.get(f"/runs?created_before={middle}").json()["runs"]
    assert [r["run_id"] for r in before] == ["a"]
    assert len(http.get("/runs?limit=1").json()["runs"]) == 1
    for query in ("status=bogus", "limit=-1", "limit=x", "created_after=soon", "limit=99999"):
        bad = http.get(f"/runs?{query}")
        assert bad.status_code == 422, query
        assert error_of(bad)["field"] == query.split("=")[0]


def test_get_run(http: httpx.Client) -> None:
    start(http, "countdown", run_id="g1", wait=True)
    assert RunInfo.model_validate(http.get("/runs/g1").json()).status == "completed"
    missing = http.get("/runs/nope")
    assert (missing.status_code, error_of(missing)["code"]) == (404, "not_found")


def test_send_event_errors(http: httpx.Client) -> None:
    start(http, "greeter", run_id="h1")
    wait_for_event(http, "h1", "Question")
    send = "/runs/h1/events"
    assert http.post("/runs/nope/events", json={"type": "Answer"}).status_code == 404
    unknown = http.post(send, json={"type": "Nope", "data": {}})
    assert (unknown.status_code, error_of(unknown)["field"]) == (422, "type")
    internal = http.post(send, json={"type": "StepStateChanged", "data": {}})
    assert (internal.status_code, error_of(internal)["field"]) == (422, "type")
    invalid = http.post(send, json={"type": "Answer", "data": {"text": ["not", "text"]}})
    assert (invalid.status_code, error_of(invalid)["field"]) == (422, "data.text")
    wrong_step = http.post(send, json={"type": "Answer", "data": {"text": "x"}, "step": "ask"})
    assert (wrong_step.status_code, error_of(wrong_step)["field"]) == (422, "step")
    no_step = http.post(send, json={"type": "Answer", "data": {"text": "x"}, "step": "nope"})
    assert no_step.status_code == 422
    assert http.post(send, content=b"{", headers=JSON).status_code == 422
    sent = http.post(send, json={"type": "Answer", "data": {"text": "Ada"}, "step": "greet"})
    assert (sent.status_code, sent.json()) == (202, {"status": "sent"})
    assert wait_for_status(http, "h1", "completed")["result"] == "Hello, Ada!"
    late = http.post(send, json={"type": "Answer", "data": {"text": "again"}})
    assert (late.status_code, error_of(late)["code"]) == (409, "conflict")


def test_cancel(http: httpx.Client) -> None:
    start(http, "survey", run_id="s1")
    wait_for_event(http, "s1", "Question")
    cancelled = http.post("/runs/s1/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert read_events(http, "s1")[-1]["type"] == "WorkflowCancelledEvent"
    again = http.post("/runs/s1/cancel")
    assert (again.status_code, error_of(again)["code"]) == (409, "conflict")
    assert http.post("/runs/nope/cancel").status_code == 404


def test_history(http: httpx.Client) -> None:
    start(http, "countdown", input={"count": 1}, run_id="hist", wait=True)
    body = http.get("/runs/hist/history").json()
    HistoryOut.model_validate(body)
    kinds = [entry["kind"] for entry in body["entries"]]
    assert kinds[0] == "start" and "step_done" in kinds
    assert body["entries"][-1]["status"] == "completed"
    assert http.get("/runs/nope/history").status_code == 404


def test_fork(http: httpx.Client) -> None:
    start(http, "greeter", run_id="orig")
    wait_for_event(http, "orig", "Question")
    http.post("/runs/orig/events", json={"type": "Answer", "data": {"text": "Ada"}})
    wait_for_status(http, "orig", "completed")
    ticks = len(http.get("/runs/orig/history").json()["entries"])
    answer = {"type": "Answer", "data": {"text": "Grace"}}
    fork = http.post("/runs/orig/fork", json={"at": 2, "events": [answer], "run_id": "fork1"})
    assert fork.status_code == 202, fork.text
    assert RunInfo.model_validate(fork.json()).run_id == "fork1"
    assert wait_for_status(http, "fork1", "completed")["result"] == "Hello, Grace!"
    taken = http.post("/runs/orig/fork", json={"at": 1, "run_id": "fork1"})
    assert (taken.status_code, error_of(taken)["field"]) == (409, "run_id")
    for body, field in (
        ({"at": ticks + 1}, "at"),
        ({"at": 0}, "at"),
        ({"at": 1, "events": [{"type": "Nope"}]}, "events.0.type"),
        ({"at": 1, "events": [{"type": "Answer", "data": {"text": []}}]}, "events.0.data.text"),
    ):
        bad = http.post("/runs/orig/fork", json=body)
        assert (bad.status_code, error_of(bad)["field"]) == (422, field), body
    assert http.post("/runs/nope/fork", json={"at": 1}).status_code == 404


def test_openapi_document(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/health", "/workflows", "/workflows/{name}", "/workflows/{name}/runs", "/runs",
        "/runs/{run_id}", "/runs/{run_id}/events", "/runs/{run_id}/cancel",
        "/runs/{run_id}/history", "/runs/{run_id}/fork", "/openapi.json", "/",
        "/runs/{run_id}/invocations", "/runs/{run_id}/state", "/schedules",
        "/schedules/{name}", "/schedules/{name}/pause", "/schedules/{name}/resume",
    }  # fmt: skip
    schemas = document["components"]["schemas"]
    assert {"RunInfo", "EventEnvelope", "ErrorBody", "StartRunRequest"} <= set(schemas)
    start_run = document["paths"]["/workflows/{name}/runs"]["post"]
    # No token on this server: no security requirement and no 401 in the document, but the
    # guards' answers: a foreign Host (403) and a state change that is not JSON (415).
    assert set(start_run["responses"]) == {
        *("200", "202", "403", "404", "409", "413", "415", "422", "500", "503")
    }
    assert start_run["security"] == []


def test_unknown_routes_and_methods_get_json_errors(http: httpx.Client) -> None:
    missing = http.get("/nope")
    assert (missing.status_code, error_of(missing)["code"]) == (404, "not_found")
    wrong_method = http.delete("/runs")
    assert wrong_method.status_code == 405
    assert error_of(wrong_method)["code"] == "not_found"
