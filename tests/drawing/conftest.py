"""Fixtures for drawing tests: the sample workflows and Graphviz's own parser.

The sample workflows live in ``samples.py`` beside this file (import them with
``from samples import Showcase``; pytest puts this folder on ``sys.path``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

import pytest
from samples import FanOut, Human, Outer, Showcase, WithResource, weird_workflow

from stepwork import Workflow
from stepwork._drawing.model import WorkflowGraph
from stepwork.drawing import workflow_graph

__all__ = ["SAMPLES", "run_graphviz"]

SAMPLES: dict[str, type[Workflow]] = {
    "fan_out": FanOut,
    "human": Human,
    "resource": WithResource,
    "showcase": Showcase,
    "nested": Outer,
    "weird": weird_workflow('Weird"[]|<>#name', step_name='step{with}|odd"name'),
    "newlines": weird_workflow("Line one\nline two\r\n\ttab #35; &amp; \\N `code` $$x$$ %%"),
    "unicode": weird_workflow("Événement_名前_🚀_\u202e_\u200b"),
    "long": weird_workflow("Long" * 200),
}


def run_graphviz(dot_text: str, output_format: str = "svg") -> str:
    """Render DOT text with Graphviz's ``dot`` (``svg``, ``json``, ...); fails if it cannot parse.

    Any warning Graphviz prints fails the test too. Skips the test when ``dot`` is missing,
    except under CI (``CI`` set), where ``scripts/test-deps.sh`` should have installed it.
    """
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz 'dot' is missing; scripts/test-deps.sh installs it")
        pytest.skip("Graphviz 'dot' is not installed (scripts/test-deps.sh installs it)")
    result = subprocess.run(
        ["dot", f"-T{output_format}"],
        input=dot_text.encode(),
        capture_output=True,
        timeout=30,
        check=False,
    )
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 0, f"dot failed ({result.returncode}): {stderr}\n{dot_text}"
    assert not stderr.strip(), f"dot complained: {stderr}\n{dot_text}"
    return result.stdout.decode()


@pytest.fixture(scope="session")
def render_dot() -> Callable[..., str]:
    """``run_graphviz`` as a fixture (session-scoped, so hypothesis tests may use it)."""
    return run_graphviz


@pytest.fixture(params=sorted(SAMPLES))
def sample_graph(request: pytest.FixtureRequest) -> WorkflowGraph:
    """The graph of each sample workflow in turn."""
    return workflow_graph(SAMPLES[request.param])


@pytest.fixture
def showcase_graph() -> WorkflowGraph:
    """The graph of ``Showcase``: fan-out, a person, a resource and a child workflow."""
    return workflow_graph(Showcase)
