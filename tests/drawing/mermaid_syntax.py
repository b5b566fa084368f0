"""A syntax checker for the subset of Mermaid ``flowchart`` syntax that stepwork emits.

Written from the rules of Mermaid's flowchart grammar (``flow.jison``), narrowed to what the
renderer produces, so anything outside the subset is an error too:

- The first statement is ``flowchart`` (or ``graph``) and a direction: TB, TD, BT, RL or LR.
- One statement per line; blank lines and ``%%`` comment lines (not ``%%{`` directives) are
  ignored.
- Ids match ``[A-Za-z_][A-Za-z0-9_]*`` and are not keywords (``end`` would close a subgraph).
- A node statement is an id and a shape holding a quoted label: ``n0["..."]`` (rectangle),
  ``("...")`` round, ``(["..."])`` stadium, ``[["..."]]`` subroutine, ``[("...")]`` cylinder,
  ``(("..."))`` circle, ``{"..."}`` rhombus, ``{{"..."}}`` hexagon, ``>"..."]`` flag. The
  closing bracket must match the opening one. Each node is declared once.
- A label is a non-empty string in double quotes; it cannot hold ``"`` (Mermaid's string token
  ends there) or a line break. ``#`` must start an entity (``#35;``, ``#quot;``) because
  Mermaid decodes those. Stricter than Mermaid, as stepwork's escaping contract: no raw ``<``,
  ``>``, ``&`` (read as HTML), backtick (a Markdown string), ``$`` (maths), ``%`` or ``|``.
- An edge is ``a --> b`` with an arrow (``-->``, ``---``, ``-.->``, ``-.-``, ``==>``, ``===``),
  optionally labelled ``a -->|"text"| b``, spaces around, both ends declared nodes.
- ``subgraph id["label"]`` (or ``subgraph id``) opens a frame that a line ``end`` closes; they
  balance, and subgraph ids are unique and distinct from node ids.
- ``classDef name prop:value,...`` defines a style; ``class id,id name`` applies one that is
  defined (anywhere) to declared nodes or subgraphs.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

__all__ = ["Flowchart", "MermaidSyntaxError", "decode_label", "parse_flowchart"]

DIRECTIONS = frozenset({"TB", "TD", "BT", "RL", "LR"})
KEYWORDS = frozenset(
    {
        "end",
        "subgraph",
        "graph",
        "flowchart",
        "class",
        "classDef",
        "style",
        "linkStyle",
        "click",
        "call",
        "href",
        "default",
        "direction",
        "interpolate",
    }
)
SHAPES = {
    "[": ("]", "rect"),
    "(": (")", "round"),
    "([": ("])", "stadium"),
    "[[": ("]]", "subroutine"),
    "[(": (")]", "cylinder"),
    "((": ("))", "circle"),
    "{": ("}", "rhombus"),
    "{{": ("}}", "hexagon"),
    ">": ("]", "flag"),
}
ARROWS = frozenset({"-->", "---", "-.->", "-.-", "==>", "==="})

ID = r"[A-Za-z_][A-Za-z0-9_]*"
_ID = re.compile(ID)
_ENTITY = re.compile(r"#(?:(\d+)|([A-Za-z][A-Za-z0-9]*));")
_FORBIDDEN = frozenset('"<>&`$%|\n\r')
_NODE = re.compile(rf"({ID})([\[\](){{}}>]+)\"([^\"]*)\"([\[\](){{}}]+)")
_EDGE = re.compile(rf"({ID}) ([-.=>]+)(?:\|\"([^\"]*)\"\|)? ({ID})")
_SUBGRAPH = re.compile(rf"subgraph ({ID})(?:\[\"([^\"]*)\"\])?")
_CLASSDEF = re.compile(rf"classDef ({ID}) (\S+)")
_STYLE = re.compile(r"[a-z][a-z-]*:[^,;:\s]+")
_CLASS = re.compile(rf"class ({ID}(?:,{ID})*) ({ID})")


class MermaidSyntaxError(ValueError):
    """The text is not valid in the subset; ``line`` is 1-based (0 for the whole text)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass
class Flowchart:
    """What a valid flowchart declares (labels as written, still escaped)."""

    direction: str
    nodes: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (shape, label)
    edges: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    subgraphs: dict[str, tuple[str | None, list[str]]] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)  # subgraph -> enclosing one
    class_defs: dict[str, dict[str, str]] = field(default_factory=dict)
    classes: dict[str, list[str]] = field(default_factory=dict)  # class name -> ids

    def label(self, node_id: str) -> str:
        """The node's label with Mermaid's entities decoded."""
        return decode_label(self.nodes[node_id][1])


def decode_label(label: str) -> str:
    """Turn Mermaid entities (``#35;``, ``#quot;``) back into the characters they stand for."""

    def replace(match: re.Match[str]) -> str:
        number, name = match.groups()
        return chr(int(number)) if number else html.unescape(f"&{name};")

    return _ENTITY.sub(replace, label.replace(_BREAK, "\n"))


# Mermaid's line break inside a quoted label: the only markup the subset allows.
_BREAK = "<br/>"


def _check_label(label: str, line: int) -> None:
    if not label:
        raise MermaidSyntaxError(line, "empty label (Mermaid's string token needs a character)")
    label = label.replace(_BREAK, " ")
    for char in _FORBIDDEN & set(label):
        raise MermaidSyntaxError(line, f"label holds a raw {char!r}: {label!r}")
    for index, char in enumerate(label):
        if char == "#":
            match = _ENTITY.match(label, index)
            if match is None:
                raise MermaidSyntaxError(line, f"'#' does not start an entity in {label!r}")
            if match.group(1) and int(match.group(1)) > 0x10FFFF:
                raise MermaidSyntaxError(line, f"entity out of range in {label!r}")


def _check_id(name: str, line: int) -> None:
    if not _ID.fullmatch(name):
        raise MermaidSyntaxError(line, f"bad id {name!r}")
    if name in KEYWORDS:
        raise MermaidSyntaxError(line, f"id {name!r} is a Mermaid keyword")


def parse_flowchart(text: str) -> Flowchart:
    """Check ``text`` against the subset and return what it declares.

    Raises:
        MermaidSyntaxError: At the first rule broken, with its line number.
    """
    lines = [
        (number, raw.strip())
        for number, raw in enumerate(text.split("\n"), 1)
        if raw.strip() and not (raw.strip().startswith("%%") and "%%{" not in raw)
    ]
    if not lines:
        raise MermaidSyntaxError(0, "empty diagram")
    number, header = lines[0]
    parts = header.split(" ")
    if len(parts) != 2 or parts[0] not in ("flowchart", "graph") or parts[1] not in DIRECTIONS:
        raise MermaidSyntaxError(number, f"expected 'flowchart <direction>', got {header!r}")
    chart = Flowchart(direction=parts[1])
    open_subgraphs: list[str] = []
    used_classes: list[tuple[int, str, list[str]]] = []
    for number, statement in lines[1:]:
        if statement == "end":
            if not open_subgraphs:
                raise MermaidSyntaxError(number, "'end' without an open subgraph")
            open_subgraphs.pop()
        elif statement.startswith("subgraph "):
            _subgraph(chart, statement, number, open_subgraphs)
        elif statement.startswith("classDef "):
            _class_def(chart, statement, number)
        elif statement.startswith("class "):
            match = _CLASS.fullmatch(statement)
            if match is None:
                raise MermaidSyntaxError(number, f"bad class statement {statement!r}")
            used_classes.append((number, match.group(2), match.group(1).split(",")))
        elif _EDGE.fullmatch(statement):
            _edge(chart, statement, number)
        else:
            _node(chart, statement, number, open_subgraphs)
    if open_subgraphs:
        raise MermaidSyntaxError(0, f"subgraph {open_subgraphs[-1]!r} is never closed by 'end'")
    for source, _, _, target in chart.edges:
        for end in (source, target):
            if end not in chart.nodes:
                raise MermaidSyntaxError(0, f"edge uses undeclared node {end!r}")
    for number, name, ids in used_classes:
        if name not in chart.class_defs:
            raise MermaidSyntaxError(number, f"class {name!r} has no classDef")
        for node_id in ids:
            if node_id not in chart.nodes and node_id not in chart.subgraphs:
                raise MermaidSyntaxError(number, f"class applied to undeclared {node_id!r}")
        chart.classes.setdefault(name, []).extend(ids)
    return chart


def _subgraph(chart: Flowchart, statement: str, number: int, open_subgraphs: list[str]) -> None:
    match = _SUBGRAPH.fullmatch(statement)
    if match is None:
        raise MermaidSyntaxError(number, f"bad subgraph statement {statement!r}")
    name, label = match.groups()
    _check_id(name, number)
    if label is not None:
        _check_label(label, number)
    if name in chart.subgraphs or name in chart.nodes:
        raise MermaidSyntaxError(number, f"subgraph id {name!r} is already used")
    chart.subgraphs[name] = (label, [])
    chart.parents[name] = open_subgraphs[-1] if open_subgraphs else None
    open_subgraphs.append(name)


def _class_def(chart: Flowchart, statement: str, number: int) -> None:
    match = _CLASSDEF.fullmatch(statement)
    if match is None:
        raise MermaidSyntaxError(number, f"bad classDef statement {statement!r}")
    name, styles = match.groups()
    _check_id(name, number)
    parsed: dict[str, str] = {}
    for style in styles.split(","):
        if not _STYLE.fullmatch(style):
            raise MermaidSyntaxError(number, f"bad style {style!r} in classDef {name!r}")
        prop, value = style.split(":")
        parsed[prop] = value
    chart.class_defs[name] = parsed


def _edge(chart: Flowchart, statement: str, number: int) -> None:
    match = _EDGE.fullmatch(statement)
    assert match is not None
    source, arrow, label, target = match.groups()
    if arrow not in ARROWS:
        raise MermaidSyntaxError(number, f"unknown arrow {arrow!r}")
    for end in (source, target):
        _check_id(end, number)
    if label is not None:
        _check_label(label, number)
    chart.edges.append((source, arrow, label, target))


def _node(chart: Flowchart, statement: str, number: int, open_subgraphs: list[str]) -> None:
    match = _NODE.fullmatch(statement)
    if match is None:
        raise MermaidSyntaxError(number, f"not a statement of the subset: {statement!r}")
    name, opening, label, closing = match.groups()
    _check_id(name, number)
    if opening not in SHAPES:
        raise MermaidSyntaxError(number, f"unknown shape opening {opening!r}")
    expected, shape = SHAPES[opening]
    if closing != expected:
        raise MermaidSyntaxError(number, f"{opening!r} closed by {closing!r}, not {expected!r}")
    _check_label(label, number)
    if name in chart.nodes or name in chart.subgraphs:
        raise MermaidSyntaxError(number, f"node {name!r} declared twice")
    chart.nodes[name] = (shape, label)
    if open_subgraphs:
        chart.subgraphs[open_subgraphs[-1]][1].append(name)
