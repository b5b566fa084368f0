"""``stepwork schedules``: add (checked against the workflow), list as a table and as JSON,
pause, resume, delete, and the errors a person meets (a bad cron field, a taken name, an
unknown schedule)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from stepwork._cli.app import app

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FLOW = str(Path(__file__).resolve().parents[1] / "workers" / "schedule_flow.py")
PLAIN_ENV: dict[str, str | None] = {"FORCE_COLOR": None, "TTY_COMPATIBLE": None, "NO_COLOR": "1"}


def invoke(*args: str) -> Result:
    return CliRunner(env=PLAIN_ENV).invoke(app, list(args))


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"


def test_add_list_pause_resume_delete(store: str) -> None:
    added = invoke(
        "schedules", "add", "nightly", "--store", store, "-w", f"{FLOW}:Beat",
        "--cron", "0 3 * * *", "--tz", "Europe/Paris", "--start", '{"n": 2}',
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "0 3 * * * (Europe/Paris)" in added.output and "active" in added.output
    assert invoke("schedules", "add", "fast", "--store", store, "-w", "beat", "--every", "5",
                  "--missed", "all").exit_code == 0  # fmt: skip
    listed = invoke("schedules", "list", "--store", store)
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["schedule", "workflow", "rule", "missed", "state", "next", "(UTC)",
                                "last", "run"]  # fmt: skip
    assert lines[2].split()[:5] == ["fast", "beat", "every", "0:00:05", "all"]
    assert lines[3].startswith("nightly")
    rows = [
        json.loads(line)
        for line in invoke("schedules", "list", "--store", store, "--json").output.splitlines()
    ]
    assert [(row["name"], row["workflow"], row["every"], row["start"]) for row in rows] == [
        ("fast", "beat", 5.0, {}), ("nightly", "schedule_flow.Beat", None, {"n": 2}),
    ]  # fmt: skip
    paused = invoke("schedules", "pause", "fast", "--store", store, "--json")
    assert (
        json.loads(paused.output)["paused"] is True and json.loads(paused.output)["next_at"] is None
    )
    resumed = invoke("schedules", "resume", "fast", "--store", store, "--json")
    assert json.loads(resumed.output)["paused"] is False
    deleted = invoke("schedules", "delete", "fast", "--store", store)
    assert deleted.exit_code == 0 and "deleted schedule fast" in deleted.output
    assert [
        row["name"]
        for row in map(
            json.loads, invoke("schedules", "list", "--store", store, "--json").output.splitlines()
        )
    ] == ["nightly"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["add", "x", "-w", "beat", "--cron", "0 3 * * MOON"], "the day of week field 'MOON'"),
        (["add", "x", "-w", "beat", "--cron", "0 3 *"], "has 3 fields"),
        (["add", "x", "-w", "beat"], "exactly one of cron="),
        (["add", "x", "-w", "beat", "--every", "5", "--start", "[1]"], "JSON object"),
        (["add", "x", "-w", "beat", "--every", "5", "--missed", "maybe"], "missed='maybe'"),
        (["add", "x", "-w", f"{FLOW}:Nope", "--every", "5"], "no attribute 'Nope'"),
        (["pause", "nope"], "No schedule 'nope'"),
        (["resume", "nope"], "No schedule 'nope'"),
        (["delete", "nope"], "No schedule 'nope'"),
    ],
)
def test_mistakes_exit_2_and_say_what_to_fix(store: str, args: list[str], words: str) -> None:
    result = invoke("schedules", *args, "--store", store)
    assert result.exit_code == 2, result.output
    assert words in result.output


def test_a_taken_name(store: str) -> None:
    assert (
        invoke("schedules", "add", "x", "-w", "beat", "--every", "5", "--store", store).exit_code
        == 0
    )
    taken = invoke("schedules", "add", "x", "-w", "beat", "--every", "5", "--store", store)
    assert taken.exit_code == 2 and "exists already" in taken.output
