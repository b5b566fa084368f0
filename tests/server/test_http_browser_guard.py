"""Safe by default: without a token only local Host names are served (DNS rebinding), state
changes need a JSON body and no foreign Origin (cross-site requests), and every answer carries
security headers. Real uvicorn on 127.0.0.1, httpx setting Host, Origin and Content-Type."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from http_helpers import error_of
from live_server import TOKEN, LiveServer, ServerFactory

GOOD = {"Authorization": f"Bearer {TOKEN}"}
START = "/workflows/countdown/runs"
BODY = b'{"input": {"count": 0}}'


def runs_of(http: httpx.Client, headers: dict[str, str] | None = None) -> list[str]:
    answer = http.get("/runs", headers=headers)
    assert answer.status_code == 200, answer.text
    return [run["run_id"] for run in answer.json()["runs"]]


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:{port}", "localhost.evil.example:{port}", "127.0.0.1.nip.io"],
)
@pytest.mark.parametrize(("method", "path"), [("GET", "/runs"), ("GET", "/"), ("POST", START)])
def test_a_foreign_host_is_refused_without_a_token(
    server: LiveServer, http: httpx.Client, host: str, method: str, path: str
) -> None:
    headers = {"Host": host.format(port=server.port), "Content-Type": "application/json"}
    refused = http.request(method, path, content=BODY, headers=headers)
    assert refused.status_code == 403, refused.text
    error = error_of(refused)
    assert (error["code"], error["field"]) == ("forbidden", "Host")
    assert "--allow-host" in error["message"] and repr(headers["Host"]) in error["message"]
    assert runs_of(http) == []


@pytest.mark.parametrize(
    "host", ["localhost:{port}", "LocalHost", "127.0.0.1:{port}", "[::1]:{port}", "10.1.2.3:80"]
)
def test_local_names_and_ip_addresses_are_served(
    server: LiveServer, http: httpx.Client, host: str
) -> None:
    answer = http.get("/workflows", headers={"Host": host.format(port=server.port)})
    assert answer.status_code == 200, answer.text


def test_an_allow_list_adds_names_and_applies_with_a_token(start_server: ServerFactory) -> None:
    open_server = start_server(allowed_hosts=["stepwork.test", "box.lan:8443"])
    with httpx.Client(base_url=open_server.url, timeout=20) as http:
        assert http.get("/health", headers={"Host": "stepwork.test:1"}).status_code == 200
        assert http.get("/health", headers={"Host": "box.lan:8443"}).status_code == 200
        assert http.get("/health", headers={"Host": "box.lan:9"}).status_code == 403
        assert http.get("/health", headers={"Host": "evil.example"}).status_code == 403
    guarded = start_server(token=TOKEN, allowed_hosts=["stepwork.test"])
    with httpx.Client(base_url=guarded.url, timeout=20, headers=GOOD) as http:
        assert http.get("/runs", headers={"Host": "stepwork.test"}).status_code == 200
        assert http.get("/runs", headers={"Host": "evil.example"}).status_code == 403


def test_a_token_without_an_allow_list_serves_any_host(start_server: ServerFactory) -> None:
    guarded = start_server(token=TOKEN)
    with httpx.Client(base_url=guarded.url, timeout=20, headers=GOOD) as http:
        assert http.get("/runs", headers={"Host": "stepwork.example"}).status_code == 200


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
@pytest.mark.parametrize("path", [START, "/runs/nope/events", "/runs/nope/cancel"])
def test_a_state_change_needs_a_json_body_without_a_token(
    http: httpx.Client, content_type: str | None, path: str
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    refused = http.post(path, content=BODY, headers=headers)
    assert refused.status_code == 415, refused.text
    error = error_of(refused)
    assert (error["code"], error["field"]) == ("unsupported_media_type", "Content-Type")
    assert "application/json" in error["message"]
    assert runs_of(http) == []


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
def test_a_foreign_origin_cannot_change_state_without_a_token(
    http: httpx.Client, origin: str
) -> None:
    headers = {"Content-Type": "application/json", "Origin": origin}
    refused = http.post(START, content=BODY, headers=headers)
    assert refused.status_code == 403, refused.text
    assert (error_of(refused)["code"], error_of(refused)["field"]) == ("forbidden", "Origin")
    cancel = http.post("/runs/nope/cancel", headers={"Origin": origin})
    assert cancel.status_code == 403
    assert runs_of(http) == []
    # Reading is not a state change: the browser's same-origin policy keeps the answer.
    assert http.get("/runs", headers={"Origin": origin}).status_code == 200


def test_json_from_the_servers_own_origin_or_no_origin_is_accepted(
    server: LiveServer, http: httpx.Client
) -> None:
    own = {"Content-Type": "application/json; charset=utf-8", "Origin": server.url}
    assert http.post(START, content=BODY, headers=own).status_code == 202
    assert http.post(START, json={"input": {"count": 0}}).status_code == 202
    # A bodiless POST (the Python client's cancel) needs no Content-Type.
    assert http.post("/runs/nope/cancel").status_code == 404
    assert len(runs_of(http)) == 2


def test_with_a_token_the_bearer_header_is_the_guard(start_server: ServerFactory) -> None:
    guarded = start_server(token=TOKEN)
    headers = {**GOOD, "Content-Type": "text/plain", "Origin": "http://evil.example"}
    with httpx.Client(base_url=guarded.url, timeout=20) as http:
        assert http.post(START, content=BODY, headers=headers).status_code == 202
        refused = http.post(START, content=BODY, headers={"Content-Type": "text/plain"})
        assert refused.status_code == 401


@pytest.fixture
def page_answer(http: httpx.Client) -> Iterator[httpx.Response]:
    yield http.get("/")


def test_the_page_is_sent_with_a_strict_content_security_policy(
    page_answer: httpx.Response,
) -> None:
    assert page_answer.status_code == 200
    policy = dict(
        part.strip().split(" ", 1)
        for part in page_answer.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["connect-src"] == "'self'" and policy["img-src"] == "'self' data:"
    for directive in ("script-src", "style-src"):
        assert "unsafe" not in policy[directive] and "'sha256-" in policy[directive]
    assert page_answer.headers["x-content-type-options"] == "nosniff"
    assert page_answer.headers["referrer-policy"] == "no-referrer"
    assert page_answer.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/workflows", 200), ("GET", "/nope", 404), ("POST", START, 415)],
)
def test_api_answers_carry_security_headers(
    http: httpx.Client, method: str, path: str, status: int
) -> None:
    answer = http.request(method, path, content=b"x", headers={"Content-Type": "text/plain"})
    assert answer.status_code == status
    assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["x-frame-options"] == "DENY"


def test_refusals_before_the_routes_carry_security_headers(start_server: ServerFactory) -> None:
    guarded = start_server(token=TOKEN, max_body_bytes=10)
    with httpx.Client(base_url=guarded.url, timeout=20) as http:
        for answer in (http.get("/runs"), http.post(START, content=BODY, headers=GOOD)):
            assert answer.status_code in (401, 413)
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["x-frame-options"] == "DENY"


def test_the_document_lists_the_guards_answers(
    http: httpx.Client, start_server: ServerFactory
) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert {"403", "415"} <= set(paths["/workflows/{name}/runs"]["post"]["responses"])
    assert {"403", "415"} <= set(paths["/runs/{run_id}/cancel"]["post"]["responses"])
    assert "403" in paths["/runs"]["get"]["responses"]
    assert "415" not in paths["/runs"]["get"]["responses"]
    guarded = start_server(token=TOKEN)
    document = httpx.get(f"{guarded.url}/openapi.json", headers=GOOD).json()
    start = document["paths"]["/workflows/{name}/runs"]["post"]["responses"]
    assert "403" not in start and "415" not in start and "401" in start
