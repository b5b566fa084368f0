"""The ``stepwork`` command: ``run``, ``check`` and ``draw`` a workflow named ``MODULE:Workflow``.

Exit codes: 0 success; 1 the run failed, ``check`` found problems, or a drawing could not be
written; 2 a bad target or bad arguments. Errors are one line on standard error, never a
traceback.

Example:
    >>> parse_arg("theme=sea, moon")
    ('theme', 'sea, moon')
    >>> parse_arg("count=3")
    ('count', 3)
"""

from __future__ import annotations

import asyncio
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from stepwork._cli.output import Output, failure_line
from stepwork._cli.running import run_workflow
from stepwork._cli.runs import runs_app
from stepwork._cli.schedules import schedules_app
from stepwork._cli.serve import serve_command
from stepwork._cli.target import Target, TargetError, describe_exception, resolve_target
from stepwork._cli.worker import worker_command
from stepwork._core.errors import StepworkError
from stepwork._runtime.workflow import Workflow

__all__ = [
    "DrawFormat",
    "app",
    "check_command",
    "draw_command",
    "main_callback",
    "parse_arg",
    "run_command",
]

TARGET_HELP = (
    "MODULE:Workflow, where MODULE is a dotted module name or a path to a .py file and "
    "Workflow a class or instance in it (omit ':Workflow' when the module defines only one)."
)

app = typer.Typer(
    name="stepwork",
    help="Run, check, draw and serve stepwork workflows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class DrawFormat(StrEnum):
    """Formats ``stepwork draw`` writes."""

    mermaid = "mermaid"
    dot = "dot"
    html = "html"


def parse_arg(text: str) -> tuple[str, Any]:
    """Split ``key=value``; the value is parsed as JSON when it parses, else kept as a string.

    Raises:
        ValueError: If there is no ``=`` or the key is empty.
    """
    key, equals, raw = text.partition("=")
    key = key.strip()
    if not equals or not key:
        raise ValueError(f"--arg expects key=value, got {text!r}")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return key, value


def _fail(out: Output, message: str, code: int) -> NoReturn:
    out.error(message)
    raise typer.Exit(code)


def _resolve(out: Output, spec: str) -> Target:
    try:
        return resolve_target(spec)
    except TargetError as error:
        _fail(out, str(error), 2)


def _version(value: bool) -> None:
    if value:
        from stepwork._version import __version__

        Output().line(f"stepwork {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Run, check and draw stepwork workflows named MODULE:Workflow."""


@app.command("run")
def run_command(
    target: Annotated[str, typer.Argument(help=TARGET_HELP, metavar="TARGET")],
    arg: Annotated[
        list[str] | None,
        typer.Option(
            "--arg",
            "-a",
            metavar="KEY=VALUE",
            help="A start-event field (repeatable); the value is JSON when it parses, "
            "else a string.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print events and the result as JSON lines.")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds the run may take (default: the workflow's).")
    ] = None,
) -> None:
    """Run a workflow: show its steps as they run, its streamed events and its result."""
    out = Output()
    kwargs: dict[str, Any] = {}
    for text in arg or []:
        try:
            key, value = parse_arg(text)
        except ValueError as error:
            _fail(out, str(error), 2)
        kwargs[key] = value
    workflow = _instantiate(out, _resolve(out, target), timeout)
    try:
        code = asyncio.run(run_workflow(out, workflow, kwargs, as_json=as_json))
    except KeyboardInterrupt:
        _fail(out, "interrupted", 130)
    raise typer.Exit(code)


def _instantiate(out: Output, target: Target, timeout: float | None) -> Workflow:
    if isinstance(target.workflow, Workflow):
        if timeout is not None:
            _fail(out, f"--timeout needs a workflow class, and {target.spec} is an instance", 2)
        return target.workflow
    try:
        if timeout is None:
            return target.workflow()
        return target.workflow(timeout=timeout)
    except StepworkError as error:
        _fail(out, failure_line(error, None), 1)
    except Exception as error:
        _fail(out, f"cannot create {target.spec}: {describe_exception(error)}", 2)


@app.command("check")
def check_command(
    targets: Annotated[list[str], typer.Argument(help=TARGET_HELP, metavar="TARGET")],
) -> None:
    """Check workflows' graphs and configuration: print every finding, exit 1 if any."""
    out = Output()
    code = 0
    for spec in targets:
        try:
            target = resolve_target(spec)
        except TargetError as error:
            out.error(str(error))
            code = 2
            continue
        findings = target.workflow_class.check()
        if not findings:
            out.check_ok(spec)
            continue
        code = max(code, 1)
        out.check_failed(spec, len(findings))
        for finding in findings:
            out.finding(finding.kind, finding.step, finding.event, finding.message, finding.hint)
    raise typer.Exit(code)


@app.command("draw")
def draw_command(
    target: Annotated[str, typer.Argument(help=TARGET_HELP, metavar="TARGET")],
    fmt: Annotated[
        DrawFormat, typer.Option("--format", "-f", help="What to draw.")
    ] = DrawFormat.mermaid,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write here instead of stdout."),
    ] = None,
    max_label_length: Annotated[
        int | None,
        typer.Option(min=4, help="Shorten longer labels (mermaid and dot), with a marker."),
    ] = None,
) -> None:
    """Draw a workflow's graph as Mermaid, Graphviz DOT or a self-contained HTML page."""
    out = Output()
    resolved = _resolve(out, target)
    text = _render(out, resolved, fmt, max_label_length)
    if output is None:
        out.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        _fail(out, f"cannot write {output}: {error.strerror or error}", 1)
    out.wrote(str(output), f"the {fmt.value} drawing of {resolved.workflow_class.__name__}")


def _render(out: Output, target: Target, fmt: DrawFormat, max_label_length: int | None) -> str:
    # Imported here: the renderers are only needed by this command.
    from stepwork._runtime.graph_view import workflow_graph

    graph = workflow_graph(target.workflow)
    if fmt is DrawFormat.mermaid:
        from stepwork._drawing.mermaid import graph_to_mermaid

        return graph_to_mermaid(graph, max_label_length=max_label_length)
    if fmt is DrawFormat.dot:
        from stepwork._drawing.dot import graph_to_dot

        return graph_to_dot(graph, max_label_length=max_label_length)
    if max_label_length is not None:
        _fail(out, "--max-label-length applies to mermaid and dot drawings only", 2)
    from stepwork._drawing.html import graph_to_html

    return graph_to_html(graph, title=target.workflow_class.__name__)


app.command("serve")(serve_command)
app.command("worker")(worker_command)
app.add_typer(runs_app)
app.add_typer(schedules_app)
