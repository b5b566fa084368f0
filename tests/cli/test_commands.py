"""The ``stepwork`` command: every command's output lines and exit code, success and failure.

Most cases run the typer app in-process (``CliRunner``); a few run the installed console script
in a subprocess, as a user would. Targets are the small modules in ``fixtures/``, named relative
to that folder (the tests run there), so the lines are the same on every machine.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ConfigDict
from rich.console import Console
from typer.testing import CliRunner, Result

import stepwork
from stepwork._cli import target as target_module
from stepwork._cli.app import app
from stepwork._cli.live import StepBoard
from stepwork._cli.output import Output, event_data, jsonable
from stepwork._cli.running import run_workflow
from stepwork._cli.target import resolve_target, split_target
from stepwork.drawing import workflow_graph
from stepwork.events import Event, StepState, StepStateChanged

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
STEPWORK = shutil.which("stepwork", path=os.path.dirname(sys.executable))
# Plain output whatever the environment running the tests asks for.
PLAIN_ENV: dict[str, str | None] = {"FORCE_COLOR": None, "TTY_COMPATIBLE": None, "NO_COLOR": "1"}

JOKE_LINES = [
    "step write started",
    'event Progress {"message": "thinking about cats"}',
    "step write finished -> Joke",
    "step judge started",
    "step judge finished -> StopEvent",
    "result: A JOKE ABOUT CATS",
]


@functools.cache
def _under_fixtures(file: str, cwd: str) -> bool:
    # Cached: the teardown below asks about every loaded module (thousands late in a full run),
    # and resolving each path anew cost ~0.3 s per test. A relative path resolves against cwd.
    return FIXTURES in (Path(cwd) / file).resolve().parents


@pytest.fixture(autouse=True)
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in ``fixtures/`` and forget the modules each test imported."""
    monkeypatch.chdir(FIXTURES)
    path = list(sys.path)
    yield
    cwd = os.getcwd()
    for name, module in list(sys.modules.items()):
        if _under_fixtures(getattr(module, "__file__", None) or "/", cwd):
            del sys.modules[name]
    sys.path[:] = path
    target_module._LOADED_FILES.clear()


def invoke(*args: str) -> Result:
    return CliRunner(env=PLAIN_ENV).invoke(app, list(args))


def lines(text: str) -> list[str]:
    return text.splitlines()


def console_script(*args: str, cwd: Path = FIXTURES) -> subprocess.CompletedProcess[str]:
    assert STEPWORK is not None, "the stepwork console script is not installed in this venv"
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    return subprocess.run(
        [STEPWORK, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30
    )


# -- run ---------------------------------------------------------------------------------------


def test_run_shows_steps_events_and_result() -> None:
    result = invoke("run", "single.py:JokeFlow", "--arg", "topic=cats")
    assert (result.exit_code, lines(result.stdout), result.stderr) == (0, JOKE_LINES, "")


def test_run_finds_the_only_workflow_and_accepts_an_instance() -> None:
    assert lines(invoke("run", "single.py", "-a", "topic=cats").stdout) == JOKE_LINES
    result = invoke("run", "single.py:INSTANCE", "-a", "topic=cats")
    assert (result.exit_code, lines(result.stdout)) == (0, JOKE_LINES)


def test_run_json_lines() -> None:
    result = invoke("run", "single.py:JokeFlow", "--arg", "topic=cats", "--json")
    assert result.exit_code == 0
    assert [json.loads(line) for line in lines(result.stdout)] == [
        {"type": "Progress", "data": {"message": "thinking about cats"}},
        {"result": "A JOKE ABOUT CATS"},
    ]


def test_run_arg_values_are_json_when_they_parse() -> None:
    args = ["run", "several.py:Counting", "-a", "count=3", "-a", 'tags=["a", "b"]']
    result = invoke(*args, "--json")
    expected = '{"result": {"count": 3, "tags": ["a", "b"]}}\n'
    assert (result.exit_code, result.stdout) == (0, expected)
    assert lines(invoke(*args).stdout)[-1] == "result: {'count': 3, 'tags': ['a', 'b']}"


# What a failing step's traceback looks like: the step's own frames only, then the error.
FAILING_TRACEBACK = [
    "Traceback (most recent call last):",
    f'  File "{FIXTURES / "several.py"}", line 40, in judge',
    '    raise ValueError("bad joke")',
    "ValueError: bad joke",
]


def test_run_failing_workflow_shows_the_step_failed_and_its_traceback() -> None:
    result = invoke("run", "several.py:Failing")
    assert result.exit_code == 1
    assert lines(result.stdout) == [
        "step write started",
        "step write finished -> Draft",
        "step judge started",
        "step judge failed",
    ]
    assert lines(result.stderr) == [
        *FAILING_TRACEBACK,
        "error: ValueError in step 'judge': bad joke",
    ]


def test_run_failing_workflow_json() -> None:
    result = invoke("run", "several.py:Failing", "--json")
    assert result.exit_code == 1
    error = {
        "type": "ValueError",
        "message": "bad joke",
        "step": "judge",
        "traceback": "\n".join(FAILING_TRACEBACK) + "\n",
    }
    assert [json.loads(line) for line in lines(result.stdout)] == [{"error": error}]
    assert result.stderr == "error: ValueError in step 'judge': bad joke\n"


def test_a_step_that_returns_none_finished_and_one_that_raised_failed() -> None:
    board = StepBoard()
    ran = {"name": "s", "worker_id": "0", "input_event_name": "StartEvent"}
    returned = StepStateChanged(
        step_state=StepState.NOT_RUNNING, output_event_name="<class 'NoneType'>", **ran
    )
    raised = StepStateChanged(step_state=StepState.NOT_RUNNING, output_event_name=None, **ran)
    assert (board.apply(returned), board.apply(raised)) == ("step s finished", "step s failed")


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (["several.py:Counting"], 2, "error: StartEventError: Failed creating a start event of "
         "type 'Numbers' with the keyword arguments: {}. 1 validation error for Numbers count "),
        (["single.py", "-a", "topic"], 2, "error: --arg expects key=value, got 'topic'"),
        (["single.py:INSTANCE", "--timeout", "5"], 2,
         "error: --timeout needs a workflow class, and single.py:INSTANCE is an instance"),
        (["several.py:Leaky"], 1,
         "error: WorkflowValidationError: The following events are consumed but never produced: "
         "Draft Workflow 'Leaky' failed validation: - [never_produced] "),
        (["several.py:Endless", "--timeout", "0.05"], 1,
         "error: WorkflowTimeoutError: Operation timed out after 0.05 seconds. "
         "Currently active steps: wait"),
        (["several.py:Asking"], 1,
         "error: the run waits for Question, which stepwork run cannot give; stopped"),
        (["several.py:NeedsConfig"], 2, "error: cannot create several.py:NeedsConfig: "
         "TypeError: NeedsConfig.__init__() missing 1 required positional argument: 'config'"),
        (["single.py", "--timeout", "-1"], 1, "error: WorkflowValidationError: timeout must be "
         "a positive number of seconds or None, got -1.0."),
    ],
)  # fmt: skip
def test_run_errors_are_one_line(args: list[str], code: int, error: str) -> None:
    result = invoke("run", *args)
    assert result.exit_code == code
    assert len(lines(result.stderr)) == 1
    assert result.stderr.startswith(error)


def test_run_a_file_whose_name_is_not_a_module_name() -> None:
    result = invoke("run", "two-words.py", "-a", "text=hi")
    assert (result.exit_code, lines(result.stdout)[-1]) == (0, "result: hi")
    assert invoke("check", "two-words.py:Echo").stdout == "two-words.py:Echo: ok\n"


def test_run_interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(coroutine: Coroutine[Any, Any, int]) -> int:
        coroutine.close()
        raise KeyboardInterrupt

    monkeypatch.setattr(asyncio, "run", interrupt)
    result = invoke("run", "single.py", "-a", "topic=cats")
    assert (result.exit_code, result.stderr) == (130, "error: interrupted\n")


def test_run_asking_shows_the_question_before_stopping() -> None:
    result = invoke("run", "several.py:Asking", "--json")
    assert lines(result.stdout)[0] == '{"type": "Question", "data": {"prompt": "name?"}}'


@pytest.mark.parametrize(
    ("spec", "kwargs", "marks"),
    [("single.py:JokeFlow", {"topic": "cats"}, "✓"), ("several.py:Failing", {}, "✗")],
)
def test_run_live_view_on_a_terminal(spec: str, kwargs: dict[str, str], marks: str) -> None:
    out = Output()
    screen = io.StringIO()
    out.stdout = Console(file=screen, force_terminal=True, width=80, color_system=None)
    workflow = resolve_target(spec).workflow
    assert isinstance(workflow, type)
    code = asyncio.run(run_workflow(out, workflow(), kwargs))
    assert code == (0 if marks == "✓" else 1)
    # The live table stays on screen when the run ends: each step with its counts and output.
    final = screen.getvalue().rpartition("\x1b[2K")[2].replace("\x1b[?25h", "")
    assert "step write started" not in screen.getvalue()  # no plain lines on a terminal
    header = ["step", "running", "finished", "last", "output"]
    assert [line.split() for line in lines(final)] == (
        [
            header,
            ["✓", "write", "0", "1", "Joke"],
            ["✓", "judge", "0", "1", "StopEvent"],
            ["result:", "A", "JOKE", "ABOUT", "CATS"],
        ]
        if marks == "✓"
        else [header, ["✓", "write", "0", "1", "Draft"], ["✗", "judge", "0", "1", "-"]]
    )


class Opaque:
    """Not serialisable by pydantic."""

    def __repr__(self) -> str:
        return "Opaque()"


class Holding(Event):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    thing: Opaque


def test_event_data_falls_back_to_repr() -> None:
    assert event_data(Holding(thing=Opaque())) == {"thing": "Opaque()"}
    assert jsonable({"when": {1}, "what": Opaque()}) == {"when": [1], "what": "Opaque()"}


def test_step_board_lines_and_table() -> None:
    board = StepBoard()
    change = {"name": "write", "worker_id": "2", "input_event_name": "Topic"}
    assert board.apply(StepStateChanged(step_state=StepState.PREPARING, **change)) == (
        "step write preparing (worker 2)"
    )
    assert board.apply(StepStateChanged(step_state=StepState.RUNNING, **change)) == (
        "step write started (worker 2)"
    )
    screen = io.StringIO()
    Console(file=screen, width=60, color_system=None).print(board)
    assert [line.split() for line in lines(screen.getvalue())][1][1:] == ["write", "1", "0", "-"]


# -- bad targets, for every command -------------------------------------------------------------

BAD_TARGETS = [
    ("nofile.py:JokeFlow", "no such file: nofile.py"),
    ("fixtures/", "not a file: fixtures/"),
    ("no_such_module_xyz:Flow", "no such module: no_such_module_xyz"),
    (
        "broken_import.py",
        "cannot import broken_import.py: KeyError: 'api_key' (broken_import.py, line 6)",
    ),
    ("single.py:Nope", "no attribute 'Nope' in single.py (workflows defined there: JokeFlow)"),
    (
        "single.py:Joke",
        "single.py:Joke is the class Joke, not a workflow: "
        "expected a Workflow subclass or instance",
    ),
    (
        "single.py:ANSWER",
        "single.py:ANSWER is an instance of int, not a workflow: "
        "expected a Workflow subclass or instance",
    ),
    ("no_workflow.py", "no Workflow subclass defined in no_workflow.py"),
    (
        "several.py",
        "several workflows in several.py: Failing, Leaky, Counting, Asking, Endless, "
        "NeedsConfig; "
        "name one as several.py:Failing",
    ),
    (":JokeFlow", "no module in target ':JokeFlow': expected MODULE:Workflow"),
    ("./notes.txt", "cannot import ./notes.txt: not a Python source file"),
    (
        "several.py:asyncio",
        "several.py:asyncio is the module asyncio, not a workflow: "
        "expected a Workflow subclass or instance",
    ),
    (
        "missing_dependency",
        "cannot import missing_dependency: ModuleNotFoundError: "
        "No module named 'no_such_dependency_xyz' (missing_dependency.py, line 5)",
    ),
]


@pytest.mark.parametrize("command", ["run", "check", "draw"])
@pytest.mark.parametrize(("spec", "message"), BAD_TARGETS)
def test_bad_target(command: str, spec: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if spec == "fixtures/":
        monkeypatch.chdir(FIXTURES.parent)
    result = invoke(command, spec)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"error: {message}\n")


def test_target_with_a_path_after_the_colon() -> None:
    assert split_target("C:\\flows\\a.py") == ("C:\\flows\\a.py", None)
    assert split_target("a.py:") == ("a.py", None)
    assert split_target("pkg.mod:Outer.Inner") == ("pkg.mod", "Outer.Inner")


def test_dotted_module_and_dotted_name() -> None:
    result = invoke("check", "single:JokeFlow", "single:INSTANCE", "single.py:JokeFlow")
    assert (result.exit_code, lines(result.stdout)) == (
        0,
        ["single:JokeFlow: ok", "single:INSTANCE: ok", "single.py:JokeFlow: ok"],
    )
    result = invoke("check", "several:Leaky.check")
    assert result.stderr == (
        "error: several:Leaky.check is the function Workflow.check, not a workflow: "
        "expected a Workflow subclass or instance\n"
    )


def test_import_failure_inside_a_dotted_module() -> None:
    result = invoke("check", "broken_import")
    assert result.stderr == (
        "error: cannot import broken_import: KeyError: 'api_key' (broken_import.py, line 6)\n"
    )


# -- check -------------------------------------------------------------------------------------

LEAKY_LINES = [
    "several.py:Leaky: 3 findings",
    "  never_produced (step lonely, event Draft): "
    "Step 'lonely' accepts Draft, which no step produces.",
    "    hint: Return Draft from a step, or send it with ctx.send_event and pass "
    "disable_validation=True.",
    "  never_consumed (step start, event Orphan): "
    "Orphan is produced by step 'start' but no step accepts it.",
    "    hint: Add a step with a parameter annotated Orphan, or stop returning it.",
    "  reachability (step lonely): Step 'lonely' is unreachable from the StartEvent.",
    "    hint: Make some step return an event it accepts, or remove it.",
]


def test_check_clean() -> None:
    result = invoke("check", "single.py", "several.py:Failing")
    assert (result.exit_code, lines(result.stdout), result.stderr) == (
        0,
        ["single.py: ok", "several.py:Failing: ok"],
        "",
    )


def test_check_with_findings() -> None:
    result = invoke("check", "single.py:JokeFlow", "several.py:Leaky")
    assert (result.exit_code, lines(result.stdout), result.stderr) == (
        1,
        ["single.py:JokeFlow: ok", *LEAKY_LINES],
        "",
    )


def test_check_goes_on_past_a_bad_target() -> None:
    result = invoke("check", "nofile.py", "several.py:Leaky")
    assert (result.exit_code, lines(result.stdout), result.stderr) == (
        2,
        LEAKY_LINES,
        "error: no such file: nofile.py\n",
    )


# -- draw --------------------------------------------------------------------------------------


def rendered(fmt: str, max_label_length: int | None = None) -> str:
    graph = workflow_graph(resolve_target("single.py:JokeFlow").workflow)
    if fmt == "mermaid":
        from stepwork._drawing.mermaid import graph_to_mermaid

        text = graph_to_mermaid(graph, max_label_length=max_label_length)
    elif fmt == "dot":
        from stepwork._drawing.dot import graph_to_dot

        text = graph_to_dot(graph, max_label_length=max_label_length)
    else:
        from stepwork._drawing.html import graph_to_html

        text = graph_to_html(graph, title="JokeFlow")
    return text


def as_printed(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "html"])
def test_draw_each_format_to_stdout(fmt: str) -> None:
    result = invoke("draw", "single.py:JokeFlow", "--format", fmt)
    assert (result.exit_code, result.stdout, result.stderr) == (0, as_printed(rendered(fmt)), "")
    assert "judge" in result.stdout


def test_draw_defaults_to_mermaid_and_shortens_labels() -> None:
    assert invoke("draw", "single.py").stdout == as_printed(rendered("mermaid"))
    result = invoke("draw", "single.py", "-f", "dot", "--max-label-length", "5")
    assert result.stdout == as_printed(rendered("dot", max_label_length=5))
    assert result.stdout != as_printed(rendered("dot"))
    result = invoke("draw", "single.py", "-f", "html", "--max-label-length", "5")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --max-label-length applies to mermaid and dot drawings only\n",
    )


@pytest.mark.parametrize(("fmt", "name"), [("mermaid", "g.mmd"), ("html", "g.html")])
def test_draw_writes_a_file(fmt: str, name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    result = invoke("draw", "single.py:JokeFlow", "-f", fmt, "-o", str(path))
    assert (result.exit_code, result.stdout) == (
        0,
        f"wrote the {fmt} drawing of JokeFlow to {path}\n",
    )
    assert path.read_text(encoding="utf-8") == rendered(fmt)


def test_draw_to_an_unwritable_place(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "g.mmd"
    result = invoke("draw", "single.py", "-o", str(path))
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: cannot write {path}: No such file or directory\n",
    )


# -- version and help --------------------------------------------------------------------------


def test_version() -> None:
    result = invoke("--version")
    assert (result.exit_code, result.stdout) == (0, f"stepwork {stepwork.__version__}\n")


def test_python_dash_m_stepwork_is_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stepwork", "--version"], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout) == (0, f"stepwork {stepwork.__version__}\n")


@pytest.mark.parametrize("command", ["run", "check", "draw", "serve"])
def test_help(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert f"Usage: stepwork {command} [OPTIONS]" in result.stdout
    assert "MODULE:Workflow" in result.stdout


def test_no_arguments_shows_help() -> None:
    result = invoke()
    assert result.exit_code == 2
    assert "Usage: stepwork [OPTIONS] COMMAND [ARGS]..." in result.stdout + result.stderr


# -- the installed console script --------------------------------------------------------------


def test_console_script_runs_a_workflow() -> None:
    done = console_script("run", "single.py:JokeFlow", "--arg", "topic=cats")
    assert (done.returncode, lines(done.stdout), done.stderr) == (0, JOKE_LINES, "")


def test_console_script_failures_show_only_the_steps_own_traceback() -> None:
    done = console_script("run", "several.py:Failing")
    expected = [*FAILING_TRACEBACK, "error: ValueError in step 'judge': bad joke"]
    assert (done.returncode, lines(done.stderr)) == (1, expected)
    done = console_script("check", "single.py:Nope")
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "error: no attribute 'Nope' in single.py (workflows defined there: JokeFlow)\n",
    )


def test_console_script_checks_and_draws_an_example(tmp_path: Path) -> None:
    done = console_script("check", "examples/quickstart.py:Poem", cwd=REPO)
    assert (done.returncode, done.stdout) == (0, "examples/quickstart.py:Poem: ok\n")
    out = tmp_path / "poem.mmd"
    done = console_script("draw", "examples/quickstart.py:Poem", "-o", str(out), cwd=REPO)
    assert (done.returncode, done.stdout) == (0, f"wrote the mermaid drawing of Poem to {out}\n")
    assert out.read_text(encoding="utf-8").startswith("flowchart")


def test_entry_point_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    from stepwork._cli.entry import main

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["stepwork", "--version"])
        with pytest.raises(SystemExit) as exit_info:
            main()
    assert (exit_info.value.code, capsys.readouterr().out) == (
        0,
        f"stepwork {stepwork.__version__}\n",
    )


def test_entry_point_without_the_cli_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from stepwork._cli.entry import main

    monkeypatch.delitem(sys.modules, "stepwork._cli.app")
    monkeypatch.setitem(sys.modules, "typer", None)  # as if typer were not installed
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert (exit_info.value.code, capsys.readouterr().err) == (
        2,
        "stepwork: the command line needs the 'cli' extra: pip install 'stepwork[cli]'\n",
    )


def test_console_script_version() -> None:
    done = console_script("--version")
    assert (done.returncode, done.stdout) == (0, f"stepwork {stepwork.__version__}\n")
