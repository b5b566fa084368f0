"""``stepwork serve MODULE``: serve a module's workflows over HTTP until interrupted.

MODULE is a dotted module name or a path to a ``.py`` file, as for the other commands. It
serves the module-level ``workflows`` mapping (name -> workflow instance or class) when there
is one, else the workflows added to a module-level ``WorkflowServer`` (a program ported from
LlamaIndex Workflows' server), else every ``Workflow`` subclass defined in the module,
instantiated with defaults and named by class name; ``MODULE:Name`` serves that one workflow.
Needs the ``server`` extra.

The token comes from ``--token``, ``--token-file``, ``$STEPWORK_TOKEN`` or
``$STEPWORK_TOKEN_FILE`` (``token_source``); an empty one is an error. Listening beyond
loopback without a token prints a warning.

Example:
    >>> import types
    >>> module = types.ModuleType("empty")
    >>> workflows_of(module)
    Traceback (most recent call last):
    ...
    stepwork._cli.target.TargetError: no workflows in empty: define workflows = ...
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import ModuleType
from typing import Annotated, Any

import typer
from rich.text import Text

from stepwork._cli.output import Output
from stepwork._cli.target import TargetError, _load_module, describe_exception, resolve_target
from stepwork._cli.target import split_target as _split
from stepwork._cli.token_source import resolve_token
from stepwork._core.errors import ServerConfigurationError
from stepwork._runtime.workflow import Workflow

__all__ = ["serve_command", "workflows_of"]

_SERVER_HINT = "pip install 'stepwork[server]'"


def _instance(name: str, value: Any) -> Workflow:
    if isinstance(value, Workflow):
        return value
    if isinstance(value, type) and issubclass(value, Workflow):
        try:
            return value()
        except Exception as error:
            message = f"cannot create workflow {name!r}: {describe_exception(error)}"
            raise TargetError(message) from None
    raise TargetError(f"workflows[{name!r}] is {type(value).__name__}, not a workflow")


def _workflow_server(module: ModuleType) -> Any:
    """The first ``stepwork.server.WorkflowServer`` instance at the top level of ``module``."""
    try:
        from stepwork._server.workflow_server import WorkflowServer
    except ModuleNotFoundError:  # no server extra: the module cannot have built one
        return None
    return next((v for v in vars(module).values() if isinstance(v, WorkflowServer)), None)


def workflows_of(module: ModuleType) -> dict[str, Workflow]:
    """The workflows ``module`` asks to be served, by name.

    Raises:
        TargetError: If there are none, ``workflows`` is not a mapping, or one cannot be made.
    """
    declared = getattr(module, "workflows", None)
    if declared is not None:
        if not isinstance(declared, Mapping):
            raise TargetError(
                f"{module.__name__}.workflows is {type(declared).__name__}; expected a dict of "
                "name -> workflow"
            )
        return {str(name): _instance(str(name), value) for name, value in declared.items()}
    server = _workflow_server(module)
    if server is not None:
        return dict(server.get_workflows())
    classes = {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, Workflow)
        and value is not Workflow
        and value.__module__ == module.__name__
    }
    if not classes:
        raise TargetError(
            f"no workflows in {module.__name__}: define workflows = {{...}} or a Workflow subclass"
        )
    return {name: _instance(name, cls) for name, cls in classes.items()}


def _load(spec: str) -> dict[str, Workflow]:
    module_ref, name = _split(spec)
    if name is None:
        return workflows_of(_load_module(module_ref))
    target = resolve_target(spec)
    return {target.workflow_class.__name__: _instance(name, target.workflow)}


def serve_command(
    module: Annotated[
        str, typer.Argument(help="MODULE (dotted name or .py path), or MODULE:Workflow.")
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0 picks a free one).")] = 8000,
    store: Annotated[
        str | None,
        typer.Option(help="Journal URL (default: sqlite:///stepwork-runs.db)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="Require 'Authorization: Bearer TOKEN' (also from $STEPWORK_TOKEN; "
            "--token-file keeps it out of ps).",
            show_default=False,
        ),
    ] = None,
    token_file: Annotated[
        str | None,
        typer.Option(
            help="Read the token from this file (also from $STEPWORK_TOKEN_FILE).",
            show_default=False,
        ),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Also answer this Host name (name or name:port; repeatable). Without a "
            "token only localhost and IP addresses are answered.",
            show_default=False,
            metavar="<str>",
        ),
    ] = None,
    grace_period: Annotated[
        float, typer.Option(help="Seconds shutdown waits for running steps.")
    ] = 10.0,
    trace_url: Annotated[
        str | None,
        typer.Option(
            help="Link runs to their trace: a URL template with {trace_id} "
            "(e.g. https://jaeger.example/trace/{trace_id}).",
            show_default=False,
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
    workers: Annotated[
        int | None,
        typer.Option(
            help="Enqueue started runs and run N worker loops here (0: execute nothing, an "
            "API node only). Default: execute the runs started here.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve workflows over HTTP: the API, event streams and the web page."""
    out = Output()
    try:
        from stepwork._server.app import DEFAULT_STORE, create_app
        from stepwork._server.serving import exposure_warning, serve
    except ModuleNotFoundError as error:
        out.error(
            f"stepwork serve needs the 'server' extra ({error.name} is missing): {_SERVER_HINT}"
        )
        raise typer.Exit(2) from None
    try:
        secret = resolve_token(token, token_file, os.environ)
    except ServerConfigurationError as error:
        out.error(str(error))
        raise typer.Exit(2) from None
    try:
        served = _load(module)
        app = create_app(
            served,
            store=store or DEFAULT_STORE,
            token=secret,
            allowed_hosts=allow_host or None,
            grace_period=grace_period,
            workers=workers,
            trace_url=trace_url,
        )
    except TargetError as error:
        out.error(str(error))
        raise typer.Exit(2) from None
    except Exception as error:  # a bad store URL, duplicate names, ...: one line, no traceback
        out.error(f"cannot serve {module}: {describe_exception(error)}")
        raise typer.Exit(2) from None
    names = ", ".join(sorted(served))
    mode = "" if workers is None else f", {workers} worker loops"
    out.line(f"serving {names} (store {store or DEFAULT_STORE}{mode})")
    warning = exposure_warning([host], secret is not None)
    if warning is not None:
        out.stderr.print(Text.assemble(("warning:", "bold yellow"), " ", warning))
    serve(app, host=host, port=port, log_level=log_level)
