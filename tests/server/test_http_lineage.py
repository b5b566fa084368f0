"""Parent and child runs over HTTP: the run detail names a run's parent and lists its children
with their status, ``GET /runs?parent=`` lists a run's children, and the client shows both."""

from __future__ import annotations

import httpx
from http_helpers import error_of
from lineage_workflows import lineage_workflows
from live_server import ServerFactory

from stepwork.client import ChildRun, Client


def test_run_detail_and_listing_link_parent_and_children(start_server: ServerFactory) -> None:
    server = start_server(workflows=lineage_workflows())
    with httpx.Client(base_url=server.url, timeout=20) as http:
        started = http.post(
            "/workflows/checkout/runs", json={"input": {"amount": 5}, "wait": True, "run_id": "c1"}
        )
        assert started.json()["result"] == {"charged": 5}, started.text
        child_id = "c1:pay:0:0"
        parent = http.get("/runs/c1").json()
        assert parent["parent_run_id"] is None
        assert parent["children"] == [
            {"run_id": child_id, "workflow": "charge", "status": "completed"}
        ]
        child = http.get(f"/runs/{child_id}").json()
        assert (child["parent_run_id"], child["workflow"]) == ("c1", "charge")
        assert child["children"] == []
        listed = http.get("/runs", params={"parent": "c1"}).json()["runs"]
        assert [(r["run_id"], r["parent_run_id"]) for r in listed] == [(child_id, "c1")]
        everything = {r["run_id"]: r["parent_run_id"] for r in http.get("/runs").json()["runs"]}
        assert everything == {"c1": None, child_id: "c1"}
        assert http.get("/runs", params={"parent": child_id}).json()["runs"] == []
        assert error_of(http.get("/runs", params={"parents": "c1"}))["field"] == "parents"
    with Client(server.url) as client:
        assert client.get_run("c1").children == (
            ChildRun(run_id=child_id, workflow="charge", status="completed"),
        )
        assert client.get_run(child_id).parent_run_id == "c1"
        assert [run.run_id for run in client.list_runs(parent="c1")] == [child_id]
        assert client.list_runs(parent=child_id) == []
