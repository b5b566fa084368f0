"""Routes under ``/workflows``: list the served workflows, describe one, start a run."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stepwork._core.errors import StartEventError
from stepwork._runtime.observe_context import parent_from_headers
from stepwork._server.errors import ApiError, JsonResponse, from_validation
from stepwork._server.inbound import non_finite_input, only_params, read_model
from stepwork._server.runs import RunRegistry
from stepwork._server.schemas import StartRunRequest
from stepwork._server.starting import launch_run, wait_ended

__all__ = ["get_workflow", "list_workflows", "start_run", "workflow_routes"]


def _registry(request: Request) -> RunRegistry:
    registry: RunRegistry = request.app.state.registry
    return registry


async def list_workflows(request: Request) -> Response:
    """``GET /workflows``: the served workflows' names (the shape LlamaIndex Workflows'
    clients read) and ``details``: each with its start schema and graph."""
    only_params(request)
    served = _registry(request).served
    details = [entry.info for entry in served.values()]
    return JsonResponse({"workflows": list(served), "details": details})


async def get_workflow(request: Request) -> Response:
    """``GET /workflows/{name}``: one workflow, or 404."""
    only_params(request)
    return JsonResponse(_registry(request).reads.workflow(request.path_params["name"]).info)


async def start_run(request: Request) -> Response:
    """``POST /workflows/{name}/runs``: start a run, or continue from a finished one's state;
    202 at once, or 200 when ``wait`` and it has ended. 404 unknown workflow or run to continue
    from, 409 taken run id or unfinished run to continue from, 422 input that does not
    validate or holds NaN or an infinity."""
    only_params(request)
    registry = _registry(request)
    entry = registry.reads.workflow(request.path_params["name"])
    body = await read_model(request, StartRunRequest)
    workflow = entry.workflow
    try:
        start_event = workflow.start_event_class(**body.input)
    except ValidationError as error:
        raise from_validation(error, "input") from None
    except (TypeError, ValueError) as error:
        raise ApiError("invalid", f"input: {error}", "input") from None
    if (refused := non_finite_input(start_event, "input")) is not None:
        raise refused  # e.g. "nan" in a float field: no run could journal it
    registry.check_accepting()
    if body.run_id is not None:
        await registry.reads.ensure_absent(body.run_id)
    ctx = None
    if body.continue_from is not None:
        ctx = await registry.reads.finished_context(entry, body.continue_from)
    try:
        with parent_from_headers(request.headers):  # a caller's trace parents the run
            run_id = await launch_run(registry, entry, start_event, body.run_id, ctx)
    except StartEventError as error:
        raise ApiError("invalid", f"input: {error}", "input") from None
    if not body.wait:
        return JsonResponse(await registry.reads.info_of(run_id), status_code=202)
    await wait_ended(registry, run_id)
    return JsonResponse(await registry.reads.info_of(run_id), status_code=200)


def workflow_routes() -> list[Route]:
    """The routes of this module."""
    return [
        Route("/workflows", list_workflows, methods=["GET"]),
        Route("/workflows/{name}", get_workflow, methods=["GET"]),
        Route("/workflows/{name}/runs", start_run, methods=["POST"]),
    ]
