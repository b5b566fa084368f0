"""``/schedules`` over real HTTP: add, list, read, pause, resume, delete; the errors the other
routes answer the same way (404 unknown, 409 a taken name, 422 naming the field); and a node
with a worker loop firing a one-second schedule."""

from __future__ import annotations

import time

import httpx
from live_server import ServerFactory


def add(http: httpx.Client, **body: object) -> httpx.Response:
    return http.post("/schedules", json={"name": "nightly", "workflow": "tally", **body})


def test_add_list_get_pause_resume_delete(http: httpx.Client) -> None:
    added = add(http, cron="0 3 * * *", tz="Europe/Paris", start={"add": 2})
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["name"] == "nightly" and body["cron"] == "0 3 * * *" and body["every"] is None
    assert body["start"] == {"add": 2} and body["paused"] is False and body["next_at"] > time.time()
    assert add(http, name="often", every=60, missed="all").status_code == 201
    listed = http.get("/schedules").json()["schedules"]
    assert [(s["name"], s["every"], s["missed"]) for s in listed] == [
        ("nightly", None, "latest"), ("often", 60.0, "all"),
    ]  # fmt: skip
    assert http.get("/schedules/often").json()["every"] == 60.0
    paused = http.post("/schedules/often/pause")
    assert (
        paused.status_code == 200 and paused.json()["paused"] and paused.json()["next_at"] is None
    )
    resumed = http.post("/schedules/often/resume").json()
    assert not resumed["paused"] and resumed["next_at"] is not None
    assert http.delete("/schedules/often").status_code == 204
    assert [s["name"] for s in http.get("/schedules").json()["schedules"]] == ["nightly"]


def test_errors(http: httpx.Client) -> None:
    assert add(http, every=60).status_code == 201
    taken = add(http, every=60)
    assert taken.status_code == 409 and taken.json()["error"]["field"] == "name"
    for method, path in (
        ("GET", "/schedules/nope"),
        ("DELETE", "/schedules/nope"),
        ("POST", "/schedules/nope/pause"),
        ("POST", "/schedules/nope/resume"),
    ):
        missing = http.request(method, path)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    cases = [
        ({"name": "a", "cron": "0 25 * * *"}, "cron", "the hour field '25'"),
        ({"name": "a", "cron": "* * *"}, "cron", "has 3 fields"),
        ({"name": "a", "workflow": "nope", "every": 5}, "workflow", "no workflow 'nope'"),
        ({"name": "a", "every": 0.5}, "every", "at least 1 second"),
        ({"name": "a"}, None, "exactly one of cron="),
        ({"name": "a", "every": 5, "tz": "Nowhere/City"}, "tz", "unknown time zone"),
        ({"name": "a", "every": 5, "start": {"add": "many"}}, "start.add", "integer"),
        ({"name": "a b", "every": 5}, "name", "pattern"),
        ({"name": "a", "every": 5, "missed": "never"}, "missed", "latest"),
        ({"name": "a", "every": 5, "extra": 1}, "extra", "Extra"),
    ]
    for body, field, words in cases:
        refused = add(http, **body)
        assert refused.status_code == 422, (body, refused.text)
        error = refused.json()["error"]
        assert error["field"] == field and words in error["message"], (body, error)
    assert [s["name"] for s in http.get("/schedules").json()["schedules"]] == ["nightly"]


def test_a_node_with_a_worker_loop_fires_the_schedule(start_server: ServerFactory) -> None:
    server = start_server(workers=1)
    with httpx.Client(base_url=server.url, timeout=20) as http:
        added = add(http, name="tick", every=1, start={"add": 2})
        assert added.status_code == 201
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # a state polled over HTTP
            done = [r for r in http.get("/runs").json()["runs"] if r["status"] == "completed"]
            if done:
                break
            time.sleep(0.1)
        assert done and done[0]["run_id"].startswith("tick:") and done[0]["result"] == 2
        assert http.get("/schedules/tick").json()["last_run"] is not None
