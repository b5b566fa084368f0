"""What drawings show, shared by every renderer: labels, escaping, roles, colours and groups.

Invariants: ``mermaid_text`` and ``dot_string`` accept any ``str`` (quotes, brackets, pipes,
``#``, ``<``, ``>``, newlines, control characters, lone surrogates, any length) and return text
that the target grammar reads back as one string; ``shorten`` never returns more than
``max_length`` characters. Nothing here depends on the order of dict iteration beyond the
graph's own node and edge lists, so the same graph always draws the same text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from stepwork._drawing.model import GraphNode, WorkflowGraph

__all__ = [
    "MARKER",
    "PALETTE",
    "ROLES",
    "NodeGroup",
    "display_label",
    "dot_string",
    "dot_tooltip",
    "group_nodes",
    "mermaid_text",
    "node_role",
    "one_line",
    "shorten",
]

MARKER = "…"
"""Ends a label that was cut short."""

ROLES = (
    "step",
    "event",
    "start",
    "stop",
    "input_required",
    "human_response",
    "external",
    "resource",
    "workflow",
)
"""Every role ``node_role`` returns, in the order renderers list their styles."""

PALETTE: dict[str, tuple[str, str]] = {
    "step": ("#e8eefc", "#3557a8"),
    "event": ("#f4f4f5", "#71717a"),
    "start": ("#d8f3dc", "#2d6a4f"),
    "stop": ("#ffd6d6", "#b23a48"),
    "input_required": ("#fff3c4", "#b7791f"),
    "human_response": ("#fde2c8", "#c05621"),
    "external": ("#fff8e1", "#8d6e00"),
    "resource": ("#e6f4f1", "#2c7a7b"),
    "workflow": ("#efe5fb", "#6b46c1"),
}
"""``(fill, stroke)`` colours per role, so Mermaid, DOT and HTML drawings agree."""

_BLANKS = re.compile(r"\s+")
# Mermaid reads `#name;` and `#123;` as entities, `"` ends a string, `<`, `>` and `&` would be
# taken as HTML, a leading backtick starts a Markdown string, `$$` starts maths, `%%` a comment
# and `|` ends edge text: all become numeric entities, which Mermaid turns back into the char.
_MERMAID_SPECIAL = frozenset('"#&<>`$%|')
# Graphviz decodes HTML entities in labels, so a literal `&` must itself be an entity.
_DOT_ESCAPES = {"\\": "\\\\", '"': '\\"', "&": "&amp;", "\n": "\\n"}


def shorten(text: str, max_length: int | None) -> str:
    """``text`` cut to at most ``max_length`` characters, ending with ``MARKER`` if it was cut.

    The marker counts toward the length; ``None`` means no limit.

    Args:
        text: The label.
        max_length: The longest result allowed, at least 1, or ``None``.

    Raises:
        ValueError: If ``max_length`` is less than 1.

    Example:
        >>> shorten("ExtraordinarilyLongEventName", 10)
        'Extraordi…'
        >>> shorten("Short", 10), shorten("Short", None)
        ('Short', 'Short')
    """
    if max_length is None:
        return text
    if max_length < 1:
        raise ValueError(f"max_label_length must be at least 1 or None, got {max_length}.")
    if len(text) <= max_length:
        return text
    return text[: max_length - len(MARKER)].rstrip() + MARKER


def one_line(text: str) -> str:
    r"""``text`` on one line: runs of whitespace and control characters become one space.

    Lone surrogates (which no file encoding can hold) become U+FFFD.

    Example:
        >>> one_line("  first line\n\tsecond\x00line ")
        'first line second line'
    """
    cleaned = "".join(_printable(char) for char in text)
    return _BLANKS.sub(" ", cleaned).strip()


def _printable(char: str) -> str:
    category = unicodedata.category(char)
    if category == "Cs":
        return "\ufffd"
    if category in ("Cc", "Zl", "Zp"):
        return " "
    return char


def display_label(text: str, max_length: int | None) -> str:
    r"""``text`` on one line, then shortened: what a drawing shows for a label.

    Example:
        >>> display_label("Line one\nline two", 12)
        'Line one li…'
    """
    return shorten(one_line(text), max_length)


def mermaid_text(text: str) -> str:
    """``text`` escaped to sit between double quotes in a Mermaid label (``["..."]``).

    Special characters become Mermaid's numeric entities (``#35;`` for ``#``); the text is
    put on one line first, and an empty text becomes one space (Mermaid rejects ``""``).

    Example:
        >>> mermaid_text('Weird"[]|<>#name')
        'Weird#34;[]#124;#60;#62;#35;name'
    """
    flat = one_line(text)
    if not flat:
        return " "
    return "".join(f"#{ord(char)};" if char in _MERMAID_SPECIAL else char for char in flat)


def dot_string(text: str) -> str:
    r"""``text`` as a quoted DOT string (quotes included), safe for any attribute value.

    Backslashes are doubled (so Graphviz escapes such as ``\N`` stay literal), quotes are
    escaped, ``&`` becomes ``&amp;``, newlines become ``\n`` and other control characters a
    space.

    Example:
        >>> print(dot_string('say "hi" & \\N'))
        "say \"hi\" &amp; \\N"
    """
    out: list[str] = []
    for char in text:
        if char in _DOT_ESCAPES:
            out.append(_DOT_ESCAPES[char])
        else:
            out.append(_printable(char))
    return '"' + "".join(out) + '"'


def dot_tooltip(text: str) -> str:
    r"""``text`` as a quoted DOT string for a ``tooltip``, which Graphviz unescapes twice.

    Graphviz reads escapes in a tooltip once when it reads the graph and again when it
    writes it out, so each backslash is written four times to come out as one.

    Example:
        >>> print(dot_tooltip("C:\\Temp"))
        "C:\\\\Temp"
    """
    return dot_string(text.replace("\\", "\\\\"))


def node_role(node: GraphNode) -> str:
    """How a node is drawn: its kind, or for events its role (``start``, ``stop``, ...).

    Example:
        >>> node_role(GraphNode("StopEvent", "event", "StopEvent", details={"role": "stop"}))
        'stop'
        >>> node_role(GraphNode("s", "step", "s"))
        'step'
    """
    if node.kind == "event":
        role = node.details.get("role", "event")
        return role if role in ROLES else "event"
    return node.kind


@dataclass
class NodeGroup:
    """Nodes drawn together: the whole graph, or a child workflow run by one step.

    Attributes:
        prefix: The id prefix of the group's nodes (``"<step>/"``), ``""`` for the whole graph.
        label: What the group's frame shows.
        nodes: Nodes directly in this group, in graph order.
        groups: Child workflows nested in this one.
    """

    prefix: str
    label: str
    nodes: list[GraphNode] = field(default_factory=list)
    groups: list[NodeGroup] = field(default_factory=list)


def group_nodes(graph: WorkflowGraph) -> NodeGroup:
    """The graph's nodes nested by child workflow, for renderers that draw frames.

    A step that ``runs`` a child workflow node whose id starts with ``"<step>/"`` opens a group
    with that prefix; every node goes to the group with the longest prefix of its id.

    Example:
        >>> from stepwork._drawing.model import GraphEdge
        >>> graph = WorkflowGraph(
        ...     "W",
        ...     nodes=[GraphNode("s", "step", "s"), GraphNode("s/C", "workflow", "C")],
        ...     edges=[GraphEdge("s", "s/C", "runs")],
        ... )
        >>> root = group_nodes(graph)
        >>> [n.id for n in root.nodes], [(g.label, [n.id for n in g.nodes]) for g in root.groups]
        (['s'], [('s: C', ['s/C'])])
    """
    by_id = {node.id: node for node in graph.nodes}
    children: dict[str, list[str]] = {}
    for edge in graph.edges:
        source, target = by_id.get(edge.source), by_id.get(edge.target)
        if (
            edge.label == "runs"
            and source is not None
            and target is not None
            and source.kind == "step"
            and target.kind == "workflow"
            and target.id.startswith(source.id + "/")
        ):
            names = children.setdefault(source.id + "/", [])
            names.append(f"{source.label}: {target.label}" if not names else target.label)
    groups = {"": NodeGroup("", graph.name)}
    for prefix, names in children.items():
        groups[prefix] = NodeGroup(prefix, ", ".join(names))
    for prefix in children:  # in the order the steps run their children
        parent = max((p for p in groups if p != prefix and prefix.startswith(p)), key=len)
        groups[parent].groups.append(groups[prefix])
    for node in graph.nodes:
        home = max((p for p in groups if node.id.startswith(p)), key=len)
        groups[home].nodes.append(node)
    return groups[""]
