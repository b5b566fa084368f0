"""The first line of a validation error: the sentence LlamaIndex Workflows uses for the problem.

Code ported from LlamaIndex Workflows may match its error texts (``pytest.raises(match=...)``,
log filters). A workflow can have several problems at once; the headline names the most
important kind, in the order LlamaIndex Workflows reports them, and stepwork's fuller list of
findings follows on the next lines.

Invariants: pure (findings in, text out); every finding kind yields a non-empty headline.
"""

from __future__ import annotations

from collections.abc import Sequence

from stepwork._core.graph import Finding

__all__ = ["headline"]

# The problem kinds in the order their sentences take precedence.
_ORDER = ("accepts_stop", "never_produced", "never_consumed", "catch_error", "fan_in")
_GRAPH = {"reachability": "Unreachable steps", "dead_end": "Dead-end steps"}


def headline(findings: Sequence[Finding]) -> str:
    """Return the one-line summary of ``findings`` (which must not be empty).

    Args:
        findings: The workflow's graph findings, in the order the checks produced them.

    Returns:
        The anchor's sentence for the most important problem found.

    Example:
        >>> headline([Finding("never_consumed", "s", "A", "A is not used.", "Use it.")])
        'The following events are produced but never consumed: A'
    """
    by_kind: dict[str, list[Finding]] = {}
    for finding in findings:
        by_kind.setdefault(finding.kind, []).append(finding)
    for kind in _ORDER:
        found = by_kind.get(kind)
        if not found:
            continue
        if kind == "never_consumed":
            return f"The following events are produced but never consumed: {_events(found)}"
        if kind == "never_produced":
            return f"The following events are consumed but never produced: {_events(found)}"
        return found[0].anchor or found[0].message
    graph = [
        f"{label}: {', '.join(f.step or '?' for f in by_kind[kind])}"
        for kind, label in _GRAPH.items()
        if kind in by_kind
    ]
    if graph:
        return f"Graph validation failed: {'; '.join(graph)}"
    first = findings[0]
    return first.anchor or first.message


def _events(findings: list[Finding]) -> str:
    names = dict.fromkeys(f.event or "?" for f in findings)
    return ", ".join(names)
