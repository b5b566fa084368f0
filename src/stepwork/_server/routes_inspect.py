"""Routes for looking inside one journaled run: its step invocations and ``ctx.store`` after
any tick (time travel). The web page's run view reads both; both fold the journal, call no step.
"""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stepwork._core.errors import RunNotFoundError
from stepwork._runtime import run_inspect
from stepwork._server.errors import ApiError, JsonResponse
from stepwork._server.inbound import only_params, query_int
from stepwork._server.routes_runs import _registry, _served

__all__ = ["inspect_routes", "run_invocations", "run_state"]


async def run_invocations(request: Request) -> Response:
    """``GET /runs/{run_id}/invocations``: every step invocation (attempt) with its input
    event, output or error and traceback, timing, and the process that ran it; 404 unknown run,
    409 ``journal_corrupt``."""
    only_params(request)
    registry = _registry(request)
    record = await registry.reads.record(request.path_params["run_id"])
    workflow = _served(registry, record).workflow
    try:
        found = await run_inspect.run_invocations(workflow, record.run_id)
    except RunNotFoundError:
        found = []  # a run queued here, not journaled yet
    return JsonResponse({"invocations": [asdict(item) for item in found]})


async def run_state(request: Request) -> Response:
    """``GET /runs/{run_id}/state[?at=SEQ]``: ``ctx.store`` right after tick ``at`` (the last
    tick by default); 404 unknown run, 422 an ``at`` past the journal, 409 ``journal_corrupt``."""
    only_params(request, "at")
    registry = _registry(request)
    record = await registry.reads.record(request.path_params["run_id"])
    workflow = _served(registry, record).workflow
    at = query_int(request, "at", None, 0)
    if record.ticks == 0:
        raise ApiError("not_found", f"Run {record.run_id!r} has no journaled ticks yet.")
    if at is not None and at >= record.ticks:
        raise ApiError(
            "invalid", f"at must be between 0 and {record.ticks - 1} (the run's tick seqs).", "at"
        )
    try:
        found = await run_inspect.state_at(workflow, record.run_id, at)
    except ValueError as error:  # the journal is shorter than the run's row says
        raise ApiError("invalid", str(error), "at") from error
    return JsonResponse(asdict(found))


def inspect_routes() -> list[Route]:
    """The routes of this module."""
    return [
        Route("/runs/{run_id}/invocations", run_invocations, methods=["GET"]),
        Route("/runs/{run_id}/state", run_state, methods=["GET"]),
    ]
