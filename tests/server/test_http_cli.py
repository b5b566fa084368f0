"""``stepwork serve``: the real command in a child process, and how it finds workflows."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import EXAMPLES, TOKEN
from typer.testing import CliRunner

from stepwork._cli.app import app
from stepwork._cli.serve import workflows_of
from stepwork._cli.target import TargetError

STEPWORK = shutil.which("stepwork", path=os.path.dirname(sys.executable))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    assert STEPWORK is not None
    port = free_port()
    command = [STEPWORK, "serve", "examples/server_app.py", "--port", str(port)]
    command += ["--store", f"sqlite:///{tmp_path / 'runs.db'}", "--log-level", "info"]
    env = {**os.environ, "STEPWORK_TOKEN": TOKEN}
    child = subprocess.Popen(
        command, cwd=EXAMPLES.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{url}/health").is_success:
                break
        except httpx.TransportError:
            pass
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "stepwork serve did not start"
        time.sleep(0.05)
    yield child, url
    if child.poll() is None:
        child.kill()
        child.communicate()


def test_serve_runs_a_server_with_the_token_from_the_environment(
    serve_process: tuple[subprocess.Popen[str], str],
) -> None:
    child, url = serve_process
    assert httpx.get(f"{url}/workflows").status_code == 401
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {"run_id": "cli", "input": {"count": 1}, "wait": True}
    done = httpx.post(f"{url}/workflows/countdown/runs", json=body, headers=headers).json()
    assert done["result"] == "counted 1"
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=30)
    # A graceful shutdown; then uvicorn ends the process with the signal it got, as is usual.
    assert "Application shutdown complete." in err
    assert child.returncode in (0, -signal.SIGTERM), err
    assert out.splitlines()[0].startswith(
        "serving countdown, fails, greeter, survey, tally (store "
    )


def test_serve_reports_a_bad_module_in_one_line() -> None:
    result = CliRunner().invoke(app, ["serve", "no/such/file.py"])
    assert result.exit_code == 2
    assert "no such file: no/such/file.py" in result.output


def test_serve_refuses_a_trace_url_without_the_trace_id(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    target = str(EXAMPLES / "server_app.py")
    result = CliRunner().invoke(
        app, ["serve", target, "--store", store, "--trace-url", "https://jaeger.example/trace/"]
    )
    assert result.exit_code == 2
    assert "{trace_id} placeholder" in result.output


def test_workflows_come_from_the_mapping_or_the_classes() -> None:
    import server_app

    assert list(workflows_of(server_app)) == ["greeter", "survey", "countdown", "fails", "tally"]
    module = types.ModuleType("flows")
    module.Greeter = type("Greeter", (server_app.Greeter,), {"__module__": "flows"})  # type: ignore[attr-defined]
    found = workflows_of(module)
    assert list(found) == ["Greeter"] and isinstance(found["Greeter"], server_app.Greeter)
    module.workflows = {"g": server_app.Greeter}  # type: ignore[attr-defined]
    assert isinstance(workflows_of(module)["g"], server_app.Greeter)  # classes are instantiated
    module.workflows = ["not", "a", "mapping"]  # type: ignore[attr-defined]
    with pytest.raises(TargetError, match="expected a dict"):
        workflows_of(module)
    module.workflows = {"x": 42}  # type: ignore[attr-defined]
    with pytest.raises(TargetError, match="not a workflow"):
        workflows_of(module)
    with pytest.raises(TargetError, match="no workflows in empty"):
        workflows_of(types.ModuleType("empty"))


def test_the_missing_extra_is_named() -> None:
    code = (
        "import sys; sys.modules['starlette'] = None\n"
        "from stepwork._cli.app import app\n"
        "app(['serve', 'examples/server_app.py'])\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", code], cwd=EXAMPLES.parent, capture_output=True, text=True
    )
    assert child.returncode == 2
    assert "pip install 'stepwork[server]'" in child.stderr
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['starlette'] = None; import stepwork.server",
        ],
        capture_output=True,
        text=True,
    )
    assert "pip install 'stepwork[server]'" in imported.stderr
