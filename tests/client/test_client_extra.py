"""httpx is optional: `import stepwork` never needs it; `stepwork.client` explains its absence."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
sys.modules["httpx"] = None  # as if httpx were not installed
import stepwork
import stepwork._client.models, stepwork._client.errors, stepwork._client.sse
try:
    import stepwork.client
except ImportError as error:
    from stepwork.errors import StepworkError
    assert isinstance(error, StepworkError), type(error)
    print(type(error).__name__, error)
"""


def test_without_httpx_the_import_error_names_the_extra() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=30
    )
    assert done.stdout.strip() == (
        "ClientExtraMissingError stepwork.client needs httpx, which is not installed: "
        "run pip install 'stepwork[client]'."
    )


def test_import_stepwork_does_not_import_httpx() -> None:
    script = "import sys, stepwork; print('httpx' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=30
    )
    assert done.stdout.strip() == "False"
