"""SIGKILL a process right after a journaled ``ctx.once`` call and right after a child was
started, resume the run, and check with a counter kept outside the engine (a file) that each
journaled call ran once and the child was started once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from once_flow import Parent  # noqa: E402

pytestmark = pytest.mark.slow

EXPECTED = ["quote", "child-work once-1:go:0:1 for 5", "email"]


def run_until_killed(url: str, counter: Path, kill_at: str) -> subprocess.CompletedProcess[bytes]:
    """Run the flow in a child process until it SIGKILLs itself at ``kill_at``."""
    return subprocess.run(
        [sys.executable, str(HERE / "once_flow.py"), url, str(counter), kill_at],
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("kill_at", ["after-quote", "in-child", "after-child", "after-email"])
async def test_a_killed_run_resumes_without_calling_or_starting_anything_twice(
    tmp_path: Path, kill_at: str, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    counter = tmp_path / "calls.txt"
    process = run_until_killed(store_url, counter, kill_at)
    assert process.returncode == -9, process.stderr.decode()
    before = counter.read_text().splitlines()

    monkeypatch.setenv("ONCE_COUNTER", str(counter))
    monkeypatch.delenv("ONCE_KILL_AT", raising=False)
    workflow = Parent(store=store_url, timeout=None)
    assert await workflow.resume("once-1") == EXPECTED

    calls = counter.read_text().splitlines()
    assert calls[: len(before)] == before
    # Each journaled call ran once, whoever ran it; the child ran under one run id.
    assert sorted(calls) == sorted(["quote", "child-work once-1:go:0:1", "email"])
    store = workflow.store
    assert store is not None
    runs = {run.run_id: run for run in await store.list_runs()}
    assert sorted(runs) == ["once-1", "once-1:go:0:1"]
    assert {run.status for run in runs.values()} == {"completed"}
    await store.close()
