"""Draw a workflow graph, and optionally a run's trace, as one self-contained HTML page.

The page is a template with the stylesheet and script inlined and the data embedded as JSON in
a ``<script type="application/json">`` block; the browser lays the graph out itself (see
``page/page.js``). It fetches nothing, so it works offline and from a file.

Invariants: the data block can never end early: ``<``, ``>`` and ``&`` in the JSON are
written as ``\\u003c``, ``\\u003e`` and ``\\u0026`` (which ``JSON.parse`` reads back as the
same characters), so no docstring or class name can close the ``<script>`` or open a comment;
non-finite floats become ``null``; the title is HTML-escaped. The same inputs always give the
same page.
"""

from __future__ import annotations

import functools
import html
import json
import math
import re
from importlib import resources
from typing import Any

from stepwork._drawing.labels import PALETTE
from stepwork._drawing.model import WorkflowGraph
from stepwork._drawing.trace_model import RunTrace

__all__ = ["graph_to_html", "script_json"]

_PLACEHOLDER = re.compile(r"\{\{(title|style|script|data)\}\}")
_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_SCRIPT_SPECIAL = re.compile("[<>&\u2028\u2029]")


def graph_to_html(
    graph: WorkflowGraph, *, trace: RunTrace | None = None, title: str | None = None
) -> str:
    """One HTML file that draws ``graph`` (and ``trace``, if given) in any browser, offline.

    Steps, events (start and stop events, questions for a person and their answers), the
    person answering, resources and child workflows are drawn distinctly; hovering over or
    clicking a node shows its docstring, workers, retry policy, timeout or the event's JSON
    schema. With a trace, a timeline of the step invocations sits beside the graph (one bar
    per invocation, failures marked, retries linked) and each node says how often it ran.

    Args:
        graph: The graph, e.g. from ``workflow_graph``.
        trace: A run's trace, e.g. from ``run_trace(handler)``.
        title: The page title; defaults to the workflow's name.

    Returns:
        The page's text (UTF-8; write it to a ``.html`` file).

    Example:
        >>> from stepwork._drawing.model import GraphNode, WorkflowGraph
        >>> page = graph_to_html(WorkflowGraph("W", [GraphNode("s", "step", "s")], []))
        >>> page.startswith("<!doctype html>"), "<title>W</title>" in page
        (True, True)
    """
    data = {
        "graph": graph.to_dict(),
        "trace": trace.to_dict() if trace is not None else None,
        "palette": {role: list(colours) for role, colours in PALETTE.items()},
    }
    template, style, script = _assets()
    parts = {
        "title": html.escape(title if title is not None else graph.name),
        "style": style,
        "script": script,
        "data": script_json(data),
    }
    # One pass, so text substituted in is never scanned for placeholders again.
    return _PLACEHOLDER.sub(lambda match: parts[match[1]], template)


def script_json(data: Any) -> str:
    """``data`` as JSON that is safe inside an HTML ``<script>`` element.

    ``<``, ``>``, ``&`` and the JavaScript line separators are written as ``\\uXXXX``
    escapes, which ``JSON.parse`` turns back into the same characters; NaN and infinities
    become ``null``; values JSON cannot hold are written as their ``str``.

    Example:
        >>> script_json({"doc": "</script><!-- & more"})
        '{"doc":"\\\\u003c/script\\\\u003e\\\\u003c!-- \\\\u0026 more"}'
    """
    text = json.dumps(
        _finite(data), ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False
    )
    return _SCRIPT_SPECIAL.sub(lambda match: _SCRIPT_ESCAPES[match[0]], text)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


@functools.cache
def _assets() -> tuple[str, str, str]:
    page = resources.files("stepwork._drawing").joinpath("page")
    template = page.joinpath("page.html").read_text(encoding="utf-8")
    style = page.joinpath("page.css").read_text(encoding="utf-8")
    script = page.joinpath("page.js").read_text(encoding="utf-8")
    for name, text, closer in (("page.css", style, "</style"), ("page.js", script, "</script")):
        if closer in text.lower() or "<!--" in text:
            raise RuntimeError(f"{name} must not contain {closer!r} or '<!--' (it is inlined)")
    return template, style, script
