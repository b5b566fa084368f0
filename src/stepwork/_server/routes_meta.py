"""``/health``, ``/openapi.json`` and ``/``, the web page."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from stepwork._server.errors import JsonResponse
from stepwork._server.inbound import only_params
from stepwork._server.openapi import openapi_document

__all__ = [
    "PLACEHOLDER_PAGE",
    "PLACEHOLDER_POLICY",
    "health",
    "meta_routes",
    "openapi",
    "page",
    "page_html",
]

PLACEHOLDER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>stepwork</title></head>
<body><h1>stepwork</h1>
<p>This server runs workflows over HTTP. See <a href="/openapi.json">/openapi.json</a>
for the API and <code>GET /workflows</code> for what it serves.</p></body></html>
"""
"""Served at ``/`` when the web page is not installed."""

PLACEHOLDER_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
"""The Content-Security-Policy of the placeholder page (it has no scripts or styles)."""


def page_html() -> tuple[str, str]:
    """The web page and its Content-Security-Policy: ``stepwork._server.page``'s when present,
    else the placeholder's."""
    if importlib.util.find_spec("stepwork._server.page") is None:
        return PLACEHOLDER_PAGE, PLACEHOLDER_POLICY
    module: Any = importlib.import_module("stepwork._server.page")
    html: str = module.page_html()
    policy: str = module.page_policy()
    return html, policy


async def health(request: Request) -> Response:
    """``GET /health``: 200 ``{"status": "healthy"}`` (LlamaIndex Workflows' word, so its
    clients accept it), with or without a token."""
    only_params(request)
    return JsonResponse({"status": "healthy"})


async def openapi(request: Request) -> Response:
    """``GET /openapi.json``: the OpenAPI 3.1 document."""
    only_params(request)
    state = request.app.state
    document = getattr(state, "openapi", None)
    if document is None:
        from stepwork._version import __version__

        document = state.openapi = openapi_document(
            __version__, token_required=state.token_required, host_check=state.host_check
        )
    return JsonResponse(document)


async def page(request: Request) -> Response:
    """``GET /``: the web page, with its Content-Security-Policy."""
    state = request.app.state
    found = getattr(state, "page", None)
    if found is None:
        found = state.page = page_html()
    html, policy = found
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


def meta_routes() -> list[Route]:
    """The routes of this module."""
    return [
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/", page, methods=["GET"]),
    ]
