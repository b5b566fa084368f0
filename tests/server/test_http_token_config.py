"""Where the token comes from and what the server says about it: an empty token is refused, a
token file works (so the secret is not in ``ps``), and binding beyond loopback without a token
is warned about. ``stepwork serve`` runs in a child process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import EXAMPLES

from stepwork import ServerConfigurationError
from stepwork.server import create_app

STEPWORK = shutil.which("stepwork", path=os.path.dirname(sys.executable))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def environment(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEPWORK_TOKEN")}
    return {**env, **values}


def serve_once(
    tmp_path: Path, *options: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``stepwork serve`` that is expected to refuse to start (a timeout means it served)."""
    assert STEPWORK is not None
    command = [STEPWORK, "serve", "examples/server_app.py", "--port", str(free_port())]
    command += ["--store", f"sqlite:///{tmp_path / 'runs.db'}", *options]
    return subprocess.run(
        command, cwd=EXAMPLES.parent, env=env or environment(), capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip


class Served:
    """A ``stepwork serve`` child that is up; ``stop()`` interrupts it and keeps its stderr."""

    def __init__(self, tmp_path: Path, *options: str, env: dict[str, str]) -> None:
        assert STEPWORK is not None
        self.port = free_port()
        command = [STEPWORK, "serve", "examples/server_app.py", "--port", str(self.port)]
        command += ["--store", f"sqlite:///{tmp_path / 'runs.db'}", *options]
        self.child = subprocess.Popen(
            command, cwd=EXAMPLES.parent, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{self.url}/health").is_success:
                    break
            except httpx.TransportError:
                pass
            assert self.child.poll() is None, self.child.communicate()
            assert time.monotonic() < deadline, "stepwork serve did not start"
            time.sleep(0.05)
        self.stderr = ""

    def stop(self) -> None:
        if self.child.poll() is None:
            self.child.send_signal(signal.SIGINT)
        _, self.stderr = self.child.communicate(timeout=30)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[Served]]:
    children: list[Served] = []
    yield children
    for child in children:
        if child.child.poll() is None:
            child.child.kill()
            child.child.communicate()


@pytest.mark.parametrize("token", ["", " ", "tab\there ", "caf\u00e9"])
def test_create_app_refuses_a_token_no_header_can_carry(token: str) -> None:
    with pytest.raises(ServerConfigurationError, match="token"):
        create_app({}, store="memory://", token=token)


@pytest.mark.parametrize(
    ("options", "env", "says"),
    [
        (("--token", ""), {}, "--token is empty"),
        ((), {"STEPWORK_TOKEN": ""}, "STEPWORK_TOKEN is empty"),
        (("--token", "a", "--token-file", "t"), {}, "not both"),
        (("--token-file", "missing.txt"), {}, "cannot read the token file"),
        (("--token-file", "{empty}"), {}, "is empty"),
        ((), {"STEPWORK_TOKEN_FILE": "{empty}"}, "is empty"),
    ],
)
def test_serve_refuses_an_empty_or_unreadable_token(
    tmp_path: Path, options: tuple[str, ...], env: dict[str, str], says: str
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    options = tuple(option.format(empty=empty) for option in options)
    env = {key: value.format(empty=empty) for key, value in env.items()}
    try:
        done = serve_once(tmp_path, *options, env=environment(**env))
    except subprocess.TimeoutExpired:
        pytest.fail(f"stepwork serve {options} {env} started a server")
    assert done.returncode == 2, done
    assert says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("how", ["flag", "env"])
def test_the_token_can_come_from_a_file(tmp_path: Path, served: list[Served], how: str) -> None:
    secret = tmp_path / "token.txt"
    secret.write_text("from-a-file\n")
    options = ("--token-file", str(secret)) if how == "flag" else ()
    env = environment(**({"STEPWORK_TOKEN_FILE": str(secret)} if how == "env" else {}))
    server = Served(tmp_path, *options, env=env)
    served.append(server)
    assert httpx.get(f"{server.url}/runs").status_code == 401
    good = {"Authorization": "Bearer from-a-file"}
    assert httpx.get(f"{server.url}/runs", headers=good).status_code == 200
    server.stop()
    assert "WARNING" not in server.stderr


def test_binding_beyond_loopback_without_a_token_is_warned_about(
    tmp_path: Path, served: list[Served]
) -> None:
    server = Served(tmp_path, "--host", "0.0.0.0", env=environment())
    served.append(server)
    server.stop()
    warnings = [
        line for line in server.stderr.splitlines() if "0.0.0.0" in line and "token" in line
    ]
    # One line from the command, one from the server's log.
    assert len(warnings) == 2, server.stderr
    assert any(line.startswith("warning:") for line in warnings)
    assert any("WARNING" in line or "stepwork.server" in line for line in warnings)


def test_binding_beyond_loopback_with_a_token_or_on_loopback_is_quiet(
    tmp_path: Path, served: list[Served]
) -> None:
    for options, env in [
        (("--host", "0.0.0.0"), environment(STEPWORK_TOKEN="t0ken")),
        ((), environment()),
    ]:
        server = Served(tmp_path, *options, env=env)
        served.append(server)
        server.stop()
        assert "warning" not in server.stderr.lower(), server.stderr
