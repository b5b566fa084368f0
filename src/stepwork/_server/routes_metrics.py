"""``GET /metrics``: the server's run metrics in Prometheus' text format.

The app's :class:`~stepwork.observe.RunMetrics` observes every run started in the process while
the app is up (added at startup, removed at shutdown). Like every route but ``/health`` and
``/``, it needs the token when the server has one (Prometheus sends it with
``authorization: {credentials: ...}`` in its scrape config).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from stepwork._runtime.observe_metrics import RunMetrics
from stepwork._server.inbound import only_params

__all__ = ["PROMETHEUS_TEXT", "metrics", "metrics_routes", "run_metrics_of"]

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
"""The content type of Prometheus' text exposition format."""


def run_metrics_of(request: Request) -> RunMetrics:
    """The app's run metrics."""
    found: RunMetrics = request.app.state.run_metrics
    return found


async def metrics(request: Request) -> Response:
    """``GET /metrics``: run counters, step and journal-write histograms, queue depth."""
    only_params(request)
    return PlainTextResponse(run_metrics_of(request).render(), media_type=PROMETHEUS_TEXT)


def metrics_routes() -> list[Route]:
    """The routes of this module."""
    return [Route("/metrics", metrics, methods=["GET"])]
