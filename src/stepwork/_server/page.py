"""The web page the server serves at ``/``: one HTML document with its scripts and styles inlined.

The page lists the workflows (drawn with the graph page's own code, ``_drawing/page/page.js``,
which it includes), the runs with their live status, and one run's events as they arrive, its
timeline, its error, and a form to answer a question the run is waiting on. It talks to the
server with ``fetch`` on relative paths, so it needs nothing else: no CDN, no build step.

Invariants: the assets are read once from the package (``webpage/`` and the drawing's
``page/``); no asset may contain ``</script``, ``</style`` or ``<!--`` (they are inlined
as-is), so nothing they hold can end an element early; the embedded data goes through
``script_json``. The same installation always gives the same page.

The page is served with a Content-Security-Policy (:func:`page_policy`) that runs only its own
inline scripts and styles, named by their SHA-256 hashes, and lets it talk to its own origin
only: no ``'unsafe-inline'``, no inline event handlers or style attributes, nothing fetched from
elsewhere.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from importlib import resources

from stepwork._drawing.html import script_json
from stepwork._drawing.labels import PALETTE

__all__ = ["PAGE_SCRIPTS", "page_html", "page_policy"]

PAGE_SCRIPTS = (
    "api.js",
    "schema_form.js",
    "timeline.js",
    "ui.js",
    "debug_view.js",
    "run_view.js",
    "schedules_view.js",
    "app.js",
)
"""The page's own scripts (in ``webpage/``), in the order they are inlined, after ``page.js``."""

_PLACEHOLDER = re.compile(r"\{\{(style|script|data)\}\}")
# The page's executable scripts and its styles (the JSON data block is not run, so not hashed).
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def page_html() -> str:
    """The server's web page as one self-contained HTML document.

    Returns:
        The page's text (serve it as ``text/html; charset=utf-8``).

    Raises:
        RuntimeError: If an asset holds text that would end its inlined element early.

    Example:
        >>> page = page_html()
        >>> page.startswith("<!doctype html>"), "StepworkDrawing" in page, "{{script}}" in page
        (True, True, False)
    """
    return _page()


def page_policy() -> str:
    """The Content-Security-Policy to serve :func:`page_html` with.

    Example:
        >>> policy = page_policy()
        >>> "script-src 'self' 'sha256-" in policy, "unsafe" in policy
        (True, False)
    """
    return _policy()


@functools.cache
def _policy() -> str:
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, text in _INLINE.findall(_page()):
        digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
        hashes[kind].append(f"'sha256-{digest}'")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' " + " ".join(hashes["script"]),
            "style-src 'self' " + " ".join(hashes["style"]),
            "img-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )


@functools.cache
def _page() -> str:
    drawing = resources.files("stepwork._drawing").joinpath("page")
    webpage = resources.files("stepwork._server").joinpath("webpage")
    template = webpage.joinpath("page.html").read_text(encoding="utf-8")
    styles = [
        ("page.css", drawing.joinpath("page.css").read_text(encoding="utf-8")),
        ("app.css", webpage.joinpath("app.css").read_text(encoding="utf-8")),
    ]
    scripts = [("page.js", drawing.joinpath("page.js").read_text(encoding="utf-8"))]
    scripts += [(name, webpage.joinpath(name).read_text(encoding="utf-8")) for name in PAGE_SCRIPTS]
    for (name, text), closer in [(s, "</style") for s in styles] + [
        (s, "</script") for s in scripts
    ]:
        if closer in text.lower() or "<!--" in text:
            raise RuntimeError(f"{name} must not contain {closer!r} or '<!--' (it is inlined)")
    data = {"palette": {role: list(colours) for role, colours in PALETTE.items()}}
    parts = {
        "style": "\n".join(text for _, text in styles),
        # One element per script, so an error in one leaves the others running.
        "script": "\n</script>\n<script>\n".join(text for _, text in scripts),
        "data": script_json(data),
    }
    # One pass, so text substituted in is never scanned for placeholders again.
    return _PLACEHOLDER.sub(lambda match: parts[match[1]], template)
