"""Every script in ``examples/`` runs to completion and prints what it is meant to show."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))

# Lines each script must print; a new example without an entry still has to run cleanly.
EXPECTED: dict[str, list[str]] = {
    "quickstart.py": ["O moon, you are 4 letters of wonder", "O wind, you are 4 letters"],
    "fan_out_fan_in.py": [
        # Arrival order depends on timing, so only the counts are checked.
        "Take(2) fired first with [",
        "result: 3 pages, 1500 bytes, arrived [",
        "result: collected 3 pages: [",
    ],
    "human_in_the_loop.py": [
        "result: Hello, Ada!",
        "result: noted: teal",
        "resumed result: noted: ochre",
    ],
    # Offsets ("5:50%") are stripped before matching: internal events take offsets too.
    "streaming.py": [
        "Progress: percent=75",
        "result: download complete",
        "steady reader: ['0%', '25%', '50%', '75%', 'StopEvent']",
        "): ['0%', '25%', '50%', '75%', 'StopEvent']",  # the flaky reader missed nothing
        "'first_half running'",
        "'second_half not_running'",
        ": ['50%', '75%', 'StopEvent']",  # the late reader
    ],
    "observability.py": [
        "log [order-1/price trace=",
        "result: paid 42",
        "run checkout [UNSET]",
        "  step price attempt 1 [ERROR] exception, retry scheduled",
        "  step price attempt 2 [UNSET]",
        "  step pay attempt 1 [UNSET]",
        'stepwork_runs_ended_total{workflow="checkout",status="completed"} 1',
        'stepwork_step_duration_seconds_count{workflow="checkout",step="price",'
        'outcome="retried"} 1',
    ],
    "retries_and_errors.py": [
        "attempt 3, last error: ConnectionError('connection reset (attempt 2)')",
        "result: answer from the API",
        "caught ValueError from step 'parse'",
        "StepTimeoutError: Step 'think' did not finish within its timeout of 0.1 seconds.",
        "WorkflowTimeoutError: Operation timed out after 0.1 seconds.",
        "WorkflowCancelledByUser: The run was cancelled by its caller.",
        "WorkflowStalledError after ",
        "can never finish",
    ],
    "durable_calls.py": [
        "first process ended with signal 9, after the model answered",
        "result: [fr] Durable steps keep their side effects.",
        "the model was asked 1 time(s)",
        "history: invocation 0 call #1 'llm' returned",
        "history: invocation 1 call #2 'child:Translate' started child run 'report-1:write:0:1'",
    ],
    "limits.py": [
        "calls: 12, most at once across 3 processes: 2",
        "result: answered",
        "retry waited at least 0.2 s: True",
        "served acme",
        "LimitKeyError: Run '",
    ],
    "schedules.py": [
        "added: every 0:00:01",
        "scheduled run named NAME:SLOT: report for search",
        "paused: True | last run is a slot's: True",
    ],
    "durable_order.py": [
        "starting run order-42, journaled in",
        "charging for a book (idempotency key order-42:charge:1)",
        "shipped a book (receipt-for-order-42:charge:1)",
    ],
}


def test_examples_are_found() -> None:
    assert "quickstart.py" in {script.name for script in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.name for script in SCRIPTS])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    # The durable example journals to ORDER_DB; keep it out of the repository, and fast.
    env = {**os.environ, "ORDER_DB": str(tmp_path / "runs.db"), "ORDER_FAST": "1"}
    completed = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=EXAMPLES.parent,
        check=False,
        env=env,
    )
    assert completed.returncode == 0, (
        f"{script.name} exited with {completed.returncode}\n{completed.stdout}\n{completed.stderr}"
    )
    assert completed.stdout.strip(), f"{script.name} printed nothing"
    # Nothing on stderr: no tracebacks, "never retrieved" exceptions or stray warnings.
    assert not completed.stderr.strip(), f"{script.name} wrote to stderr:\n{completed.stderr}"
    output = re.sub(r"'\d+:", "'", completed.stdout)
    for line in EXPECTED.get(script.name, []):
        assert line in output, f"{script.name} did not print {line!r}:\n{completed.stdout}"


def test_every_expectation_names_a_script() -> None:
    assert set(EXPECTED) <= {script.name for script in SCRIPTS}
