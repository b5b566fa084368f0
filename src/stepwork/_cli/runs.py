"""``stepwork runs``: list, show, history, cancel and resume the runs journaled in a store.

``list``, ``show`` and ``history`` read the store only (no workflow code is imported).
``cancel`` and ``resume`` continue the run in this process, so they need the workflow
(``--workflow MODULE:Workflow``), like a worker would. A run that another process (a server)
is running should be cancelled through that process instead: two writers of one journal
conflict, and the second is refused.

Exit codes: 0 done; 1 the run failed, or the store could not be read; 2 bad arguments or an
unknown run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich import box
from rich.table import Table

from stepwork._cli.output import Output, failure_line, step_traceback
from stepwork._cli.target import TargetError, describe_exception, resolve_target
from stepwork._core.errors import RunNotFoundError, StepworkError, WorkflowCancelledByUser
from stepwork._runtime.time_travel import summarise_record
from stepwork._runtime.workflow import Workflow
from stepwork._stores.protocol import RunRecord, Store
from stepwork._stores.url import store_from_url

__all__ = ["runs_app"]

T = TypeVar("T")
_CHILDREN_SHOWN = 1000  # as GET /runs/{id} lists; `runs list --parent` lists them all

runs_app = typer.Typer(
    name="runs",
    help="Runs in a store: list, show, history, cancel, resume.",
    no_args_is_help=True,
)

StoreOption = Annotated[
    str,
    typer.Option(
        "--store",
        envvar="STEPWORK_STORE",
        help="The store's URL (sqlite:///runs.db, postgresql://...); or set STEPWORK_STORE.",
    ),
]
RunId = Annotated[str, typer.Argument(help="The run's id.", metavar="RUN_ID")]
TargetOption = Annotated[
    str,
    typer.Option(
        "--workflow", "-w", metavar="MODULE:Workflow", help="The workflow the run belongs to."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _fail(out: Output, message: str, code: int) -> NoReturn:
    out.error(message)
    raise typer.Exit(code)


def _with_store(out: Output, url: str, use: Callable[[Store], Awaitable[T]]) -> T:
    """Open the store at ``url``, run ``use`` with it, close it; failures become exit codes."""

    async def go() -> T:
        store = store_from_url(url)
        await store.open()
        try:
            return await use(store)
        finally:
            await store.close()

    try:
        return asyncio.run(go())
    except RunNotFoundError as error:
        _fail(out, str(error), 2)
    except StepworkError as error:
        _fail(out, failure_line(error, None), 1)


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _row(record: RunRecord) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "workflow": record.workflow,
        "status": record.status,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "ticks": record.ticks,
        "events": record.events,
        "error": record.error,
        "corrupt": str(record.corrupt) if record.corrupt is not None else None,
        "parent_run_id": record.parent_run_id,
    }


def _table(*columns: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=True)
    return table


@runs_app.command("list")
def list_command(
    store: StoreOption,
    status: Annotated[
        list[str] | None, typer.Option(help="Only runs with this status (repeatable).")
    ] = None,
    workflow: Annotated[
        list[str] | None, typer.Option(help="Only runs of this workflow (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 20,
    parent: Annotated[
        str | None, typer.Option(help="Only the runs this run's steps started (its children).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The store's runs, newest first."""
    out = Output()
    records = _with_store(
        out,
        store,
        lambda s: s.list_runs(
            status=status or None, workflow=workflow or None, limit=limit, parent=parent
        ),
    )
    if as_json:
        for record in records:
            out.json_line(_row(record))
        return
    table = _table("run", "workflow", "status", "parent", "created (UTC)", "ticks", "error")
    for record in records:
        error = record.error or {}
        problem = f"{error.get('type', '')}: {error.get('message', '')}" if error else ""
        if record.corrupt is not None:
            problem = f"corrupt: {record.corrupt}"
        table.add_row(
            record.run_id,
            record.workflow,
            record.status,
            record.parent_run_id or "",
            _when(record.created_at),
            str(record.ticks),
            problem[:80],
        )
    out.table(table)


@runs_app.command("show")
def show_command(store: StoreOption, run_id: RunId, as_json: JsonOption = False) -> None:
    """One run: its status, times, counts, result or error with the step's traceback, its
    parent and the runs its steps started."""
    out = Output()

    async def load(s: Store) -> tuple[RunRecord, list[RunRecord]]:
        found = await s.get_run(run_id)
        return found, list(reversed(await s.list_runs(parent=run_id, limit=_CHILDREN_SHOWN)))

    record, children = _with_store(out, store, load)
    if as_json:
        listed = [
            {"run_id": c.run_id, "workflow": c.workflow, "status": c.status} for c in children
        ]
        out.json_line({**_row(record), "result": record.result, "children": listed})
        return
    table = _table("field", "value")
    table.show_header = False
    for name, value in (
        ("run", record.run_id),
        ("workflow", record.workflow),
        ("status", record.status),
        ("created", _when(record.created_at) + " UTC"),
        ("updated", _when(record.updated_at) + " UTC"),
        ("ticks", str(record.ticks)),
        ("events", str(record.events)),
    ):
        table.add_row(name, value)
    if record.parent_run_id is not None:
        table.add_row("parent", record.parent_run_id)
    for n, child in enumerate(children):
        table.add_row(
            "children" if n == 0 else "", f"{child.run_id} ({child.workflow}, {child.status})"
        )
    if record.result is not None:
        table.add_row("result", str(record.result.get("result", record.result)))
    error = record.error
    if error is not None:
        step = f" in step '{error['step']}'" if error.get("step") else ""
        table.add_row("error", f"{error.get('type')}{step}: {error.get('message')}")
    if record.corrupt is not None:
        table.add_row("corrupt", str(record.corrupt))
    out.table(table)
    if error is not None and error.get("traceback"):
        out.traceback(str(error["traceback"]))


@runs_app.command("history")
def history_command(store: StoreOption, run_id: RunId, as_json: JsonOption = False) -> None:
    """Every tick of a run: when, what kind, and what happened."""
    out = Output()

    async def load(s: Store) -> list[dict[str, Any]]:
        await s.get_run(run_id)  # an unknown run is "not found", not an empty history
        return await s.load_ticks(run_id)

    records = _with_store(out, store, load)
    start = records[0]["at"] if records else 0.0
    if as_json:
        for seq, record in enumerate(records):
            summary = summarise_record(record)
            out.json_line(
                {"seq": seq, "at": record["at"], "kind": record["kind"], "summary": summary}
            )
        return
    table = _table("seq", "after", "kind", "what happened")
    for seq, record in enumerate(records):
        summary = summarise_record(record)
        table.add_row(str(seq), f"+{record['at'] - start:.3f}s", record["kind"], summary)
    out.table(table)


def _continue(out: Output, store: str, run_id: str, spec: str, *, cancel: bool) -> Any:
    """Resume run ``run_id`` of the workflow ``spec`` in this process (and cancel it), and
    return what it ended with; failures become exit codes."""
    try:
        target = resolve_target(spec)
    except TargetError as error:
        _fail(out, str(error), 2)
    journal = store_from_url(store)

    async def go() -> Any:
        await journal.open()
        try:
            record = await journal.get_run(run_id)
            if cancel and record.status != "running":
                raise _Mismatch(f"run {run_id!r} has already ended ({record.status})")
            workflow = _workflow_for(target.workflow, record, spec, journal)
            handler = workflow.resume(run_id)
            if cancel:
                await handler.cancel_run()
                with contextlib.suppress(WorkflowCancelledByUser):
                    await handler
                return None
            return await handler
        finally:
            await journal.close()

    try:
        return asyncio.run(go())
    except (RunNotFoundError, _Mismatch) as error:
        _fail(out, str(error), 2)
    except Exception as error:
        step = getattr(error, "step_name", None)
        trace = step_traceback(error) if step else None
        if trace is not None:
            out.traceback(trace)
        _fail(out, failure_line(error, step), 1)


def _workflow_for(
    named: type[Workflow] | Workflow, record: RunRecord, spec: str, journal: Store
) -> Workflow:
    """The workflow to continue ``record``'s run with, journaling to ``journal``: a class is
    instantiated under the run's workflow name (a server names what it serves)."""
    if isinstance(named, Workflow):
        if named.workflow_name != record.workflow:
            raise _Mismatch(
                f"run {record.run_id!r} belongs to workflow {record.workflow!r}, and {spec} is "
                f"{named.workflow_name!r}: name the workflow the run was started with"
            )
        named.use_store(journal)
        return named
    try:
        return named(store=journal, workflow_name=record.workflow)
    except Exception as error:
        raise _Mismatch(f"cannot create {spec}: {describe_exception(error)}") from error


class _Mismatch(Exception):
    """The run cannot be continued as asked (another workflow's run, it has ended, or the
    workflow cannot be created)."""


@runs_app.command("resume")
def resume_command(store: StoreOption, run_id: RunId, workflow: TargetOption) -> None:
    """Continue a run from its journal here and wait for its result."""
    out = Output()
    out.result(_continue(out, store, run_id, workflow, cancel=False))


@runs_app.command("cancel")
def cancel_command(store: StoreOption, run_id: RunId, workflow: TargetOption) -> None:
    """Cancel a run that no other process is running (its journal records the cancel)."""
    out = Output()
    _continue(out, store, run_id, workflow, cancel=True)
    out.line(f"run {run_id} cancelled")
