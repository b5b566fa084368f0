"""``docs/http-reference.md`` is current and covers every operation of the OpenAPI document."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stepwork import __version__
from stepwork._server.openapi import openapi_document

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "http-reference.md"


def test_committed_reference_is_current() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/http_reference.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr or done.stdout


def test_every_operation_is_in_the_reference() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    for token_required in (True, False):
        document = openapi_document(__version__, token_required=token_required)
        for path, item in document["paths"].items():
            for method in item:
                assert f"### `{method.upper()} {path}`" in text, (method, path)
