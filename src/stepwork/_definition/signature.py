"""Read a step function's signature once: event, context, resource and fan-in parameters.

Annotations may be postponed (``from __future__ import annotations``) or name classes defined
inside a function; names are resolved against the function's globals and the locals of the
frames that were executing when ``@step`` was applied.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, get_args, get_origin

from stepwork._core.errors import WorkflowValidationError
from stepwork._core.events import Event
from stepwork._definition.collect import Collect

__all__ = ["ParsedSignature", "parse_signature", "resolve_hints"]

_NONE = type(None)


@dataclass
class ParsedSignature:
    """What a step's signature says, in the definition layer's terms."""

    event_params: list[tuple[str, tuple[type, ...]]] = field(default_factory=list)
    collect: tuple[str, tuple[type, ...], int | None] | None = None
    context_param: str | None = None
    state_type: type | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    resource_types: dict[str, Any] = field(default_factory=dict)
    returns: tuple[type, ...] = ()
    fan_out: tuple[type, ...] = ()
    takes_self: bool = False


def resolve_hints(func: Callable[..., Any], localns: Mapping[str, Any]) -> dict[str, Any]:
    """Resolve ``func``'s annotations, keeping ``Annotated`` metadata.

    Raises:
        WorkflowValidationError: If an annotation names something that cannot be found.
    """
    try:
        return typing.get_type_hints(func, localns=dict(localns), include_extras=True)
    except NameError as error:
        raise WorkflowValidationError(
            f"Failed to resolve type annotations of step '{func.__name__}': {error}.\n"
            f"Step '{func.__name__}' has an annotation that cannot be resolved. Define or import "
            "the name before the step, or annotate with the class itself.",
            step_name=func.__name__,
        ) from error


def parse_signature(
    func: Callable[..., Any], hints: Mapping[str, Any], *, is_method: bool
) -> ParsedSignature:
    """Classify each parameter of ``func`` and its return annotation.

    Raises:
        WorkflowValidationError: If a parameter or the return annotation is not one a step may have.
    """
    from stepwork._definition.resources import resource_param

    name = func.__name__
    parsed = ParsedSignature()
    params = list(inspect.signature(func).parameters.values())
    # A parameter named "self" is the workflow, annotated or not and in a free function added
    # with @step(workflow=W) too; a method's unannotated first parameter is, whatever its name.
    if params and (params[0].name == "self" or (is_method and params[0].name not in hints)):
        parsed.takes_self = True
        params = params[1:]
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name not in hints:
            raise _error(name, f"parameter '{param.name}' has no annotation", _PARAM_HINT)
        hint = hints[param.name]
        if _is_context(hint):
            parsed.context_param = param.name
            args = get_args(hint)
            parsed.state_type = args[0] if args else None
            continue
        resource = resource_param(hint)
        if resource is not None:
            parsed.resources[param.name] = resource[0]
            parsed.resource_types[param.name] = resource[1]
            continue
        collect = _collect_param(hint)
        if collect is not None:
            if parsed.collect is not None:
                raise _error(name, "has more than one list[...] fan-in parameter", "Keep one.")
            parsed.collect = (param.name, *collect)
            continue
        event_types = _event_types(hint)
        if event_types is None:
            raise _error(
                name,
                f"parameter '{param.name}' is annotated {hint!r}, which is not an Event",
                _PARAM_HINT,
            )
        parsed.event_params.append((param.name, event_types))
    if parsed.collect is not None and parsed.event_params:
        raise _error(
            name,
            "mixes a list[...] fan-in parameter with other event parameters",
            "Gather into one list[A | B] parameter, or split the step in two.",
        )
    if not parsed.event_params and parsed.collect is None:
        raise _error(
            name,
            "must have at least one parameter annotated as type Event",
            "Add a parameter such as `ev: StartEvent`.",
        )
    if len(parsed.event_params) > 1:
        for param_name, event_types in parsed.event_params:
            if len(event_types) != 1:
                raise _error(
                    name,
                    f"join parameter '{param_name}' is a union",
                    "Each parameter of a join takes one concrete event type.",
                )
    if "return" not in hints:
        raise _error(
            name,
            "has no return annotation",
            "Return types of workflow step functions must be annotated, e.g. `-> StopEvent`.",
        )
    parsed.returns, parsed.fan_out = _return_types(name, hints["return"])
    return parsed


_PARAM_HINT = (
    "Annotate step parameters with an Event subclass (or a union of them), Context, "
    "list[E] for fan-in, or Annotated[T, Resource(factory)]."
)


def _error(step: str, problem: str, hint: str) -> WorkflowValidationError:
    return WorkflowValidationError(f"Step '{step}' {problem}. {hint}", step_name=step)


def _is_context(hint: Any) -> bool:
    origin = get_origin(hint) or hint
    return isinstance(origin, type) and getattr(origin, "__stepwork_context__", False) is True


def _union_members(hint: Any) -> tuple[Any, ...]:
    if get_origin(hint) in (typing.Union, types.UnionType):
        return get_args(hint)
    return (hint,)


def _event_types(hint: Any) -> tuple[type, ...] | None:
    members = [m for m in _union_members(hint) if m is not _NONE]
    if members and all(isinstance(m, type) and issubclass(m, Event) for m in members):
        return tuple(members)
    return None


def _collect_param(hint: Any) -> tuple[tuple[type, ...], int | None] | None:
    take = None
    if get_origin(hint) is Annotated:
        base, *meta = get_args(hint)
        markers = [m for m in meta if isinstance(m, Collect)]
        if not markers:
            return None
        take = markers[0].take
        hint = base
    if get_origin(hint) is not list:
        return None
    (element,) = get_args(hint) or (Any,)
    event_types = _event_types(element)
    if event_types is None:
        return None
    return event_types, take


def _return_types(step: str, hint: Any) -> tuple[tuple[type, ...], tuple[type, ...]]:
    returns: list[type] = []
    fan_out: list[type] = []
    for member in _union_members(hint):
        if member is _NONE or member is None:
            continue
        if get_origin(member) is list:
            element_types = _event_types(get_args(member)[0]) if get_args(member) else None
            if element_types is None:
                raise _error(step, f"returns {member!r}", "A list return must be list[EventType].")
            fan_out.extend(element_types)
            returns.extend(element_types)
            continue
        if not (isinstance(member, type) and issubclass(member, Event)):
            raise _error(
                step,
                f"declares return type {member!r}, which is not an Event",
                "Return Event subclasses, list[E] to fan out, or None.",
            )
        returns.append(member)
    return tuple(dict.fromkeys(returns)), tuple(dict.fromkeys(fan_out))
