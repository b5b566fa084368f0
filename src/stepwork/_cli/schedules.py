"""``stepwork schedules``: list, add, pause, resume and delete the schedules kept in a store.

Workers (``stepwork worker``, ``stepwork serve --workers N``) fire them; see
``docs/durable-primitives.md#schedules``. ``add --workflow MODULE:Workflow`` imports the
workflow to learn its name and check the start arguments; a plain name is stored as given.

Exit codes: 0 done; 1 the store failed; 2 bad arguments (a bad cron expression names its
field), an unknown schedule or a name taken.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from stepwork._cli.output import Output
from stepwork._cli.runs import JsonOption, StoreOption, _fail, _table, _with_store
from stepwork._cli.target import TargetError, describe_exception, resolve_target
from stepwork._core.errors import ScheduleError
from stepwork._core.schedule_slots import MISSED_POLICIES, slot_datetime
from stepwork._stores.protocol import Store
from stepwork._stores.schedule_protocol import (
    Schedule,
    ScheduleRecord,
    schedule_json,
    schedules_of,
)

__all__ = ["schedules_app"]

schedules_app = typer.Typer(
    name="schedules",
    help="Schedules in a store: list, add, pause, resume, delete.",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(help="The schedule's name.", metavar="NAME")]


def _slot(slot: int | None) -> str | None:
    return None if slot is None else slot_datetime(slot).strftime("%Y-%m-%d %H:%M:%S")


def _show(out: Output, records: list[ScheduleRecord], as_json: bool) -> None:
    if as_json:
        for record in records:
            out.json_line(schedule_json(record))
        return
    table = _table("schedule", "workflow", "rule", "missed", "state", "next (UTC)", "last run")
    for record in records:
        table.add_row(
            record.name,
            record.schedule.workflow,
            record.schedule.describe(),
            record.schedule.missed,
            "paused" if record.paused else "active",
            _slot(record.next_at) or "-",
            record.last_run or "-",
        )
    out.table(table)


def _run(out: Output, store: str, use: Any) -> Any:
    """``_with_store`` that answers schedule errors with exit code 2."""

    async def guarded(opened: Store) -> Any:
        try:
            return await use(schedules_of(opened))
        except ScheduleError as error:  # a not-found one too
            return error

    found = _with_store(out, store, guarded)
    if isinstance(found, ScheduleError):
        _fail(out, str(found), 2)
    return found


@schedules_app.command("list")
def list_command(store: StoreOption, as_json: JsonOption = False) -> None:
    """The store's schedules, by name."""
    out = Output()
    _show(out, _run(out, store, lambda schedules: schedules.list()), as_json)


@schedules_app.command("add")
def add_command(
    store: StoreOption,
    name: NameArgument,
    workflow: Annotated[
        str,
        typer.Option(
            "--workflow",
            "-w",
            metavar="MODULE:Workflow|NAME",
            help="The workflow to start: MODULE:Workflow (checked), or its served name.",
        ),
    ],
    cron: Annotated[
        str | None, typer.Option(help="A cron expression ('0 3 * * *') or @daily-style alias.")
    ] = None,
    every: Annotated[
        float | None, typer.Option(help="Or an interval in seconds (at least 1).")
    ] = None,
    start: Annotated[str, typer.Option(help="The start event's fields, as a JSON object.")] = "{}",
    tz: Annotated[str, typer.Option(help="The time zone a cron expression reads in.")] = "UTC",
    missed: Annotated[
        str, typer.Option(help=f"Slots missed while nothing ran: {', '.join(MISSED_POLICIES)}.")
    ] = "latest",
    as_json: JsonOption = False,
) -> None:
    """Add a schedule; workers fire it from its first slot after now."""
    out = Output()
    try:
        fields = json.loads(start)
    except json.JSONDecodeError as error:
        _fail(out, f"--start is not JSON: {error}", 2)
    if not isinstance(fields, dict):
        _fail(out, "--start must be a JSON object of the start event's fields.", 2)
    try:
        workflow_name = _workflow_name(workflow, fields)
        schedule = Schedule(
            name, workflow_name, cron=cron, every=every, start=fields, tz=tz,
            missed=missed,  # type: ignore[arg-type]  # checked by Schedule
        )  # fmt: skip
    except TargetError as error:
        _fail(out, str(error), 2)
    except ScheduleError as error:
        _fail(out, str(error), 2)
    _show(out, [_run(out, store, lambda schedules: schedules.add(schedule))], as_json)


def _workflow_name(spec: str, start: dict[str, Any]) -> str:
    """The workflow's served name: a ``MODULE:Workflow`` target is imported and ``start``
    checked against its start event; a plain name is taken as it is.

    Raises:
        TargetError: If the target cannot be imported.
        ScheduleError: If ``start`` does not fit the workflow's start event.
    """
    if ":" not in spec and not spec.endswith(".py"):
        return spec
    target = resolve_target(spec)
    workflow = target.workflow if not isinstance(target.workflow, type) else target.workflow()
    try:
        workflow.start_event_class(**start)
    except ValueError as error:
        raise ScheduleError(
            f"--start does not fit {spec}'s start event: {describe_exception(error)}"
        ) from None
    return workflow.workflow_name


def _change(store: str, name: str, as_json: bool, how: str) -> None:
    out = Output()
    record = _run(out, store, lambda schedules: getattr(schedules, how)(name))
    _show(out, [record], as_json)


@schedules_app.command("pause")
def pause_command(store: StoreOption, name: NameArgument, as_json: JsonOption = False) -> None:
    """Stop firing a schedule (its slots pass unfired until it is resumed)."""
    _change(store, name, as_json, "pause")


@schedules_app.command("resume")
def resume_command(store: StoreOption, name: NameArgument, as_json: JsonOption = False) -> None:
    """Fire a paused schedule again, from its first slot after now."""
    _change(store, name, as_json, "resume")


@schedules_app.command("delete")
def delete_command(store: StoreOption, name: NameArgument) -> None:
    """Delete a schedule (the runs it started stay)."""
    out = Output()
    if not _run(out, store, lambda schedules: schedules.delete(name)):
        _fail(out, f"No schedule {name!r} in the store.", 2)
    out.write(f"deleted schedule {name}")
