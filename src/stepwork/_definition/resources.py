"""Resource descriptors: what ``Annotated[T, Resource(f)]`` means, read without running anything.

A descriptor names a value a step (or another factory) wants injected. :class:`Resource` wraps a
factory; ``ResourceConfig`` (in ``resource_config``) points at a JSON file. Nothing here awaits or
caches: the runtime's ``ResourceManager`` does that. Descriptors compare by identity, so they can
sit in sets however unhashable their factories are.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict

from stepwork._core.errors import ResourceError

__all__ = [
    "Resource",
    "ResourceDefinition",
    "ResourceDescriptor",
    "ResourceParam",
    "ensure_acyclic",
    "factory_dependencies",
    "resource_param",
]

T = TypeVar("T")


class ResourceParam(NamedTuple):
    """An injected parameter: the descriptor that produces it and its declared type.

    Attributes:
        descriptor: What to resolve (a :class:`Resource` or a ``ResourceConfig``).
        type: The ``T`` of ``Annotated[T, ...]``.
    """

    descriptor: ResourceDescriptor
    type: Any


class ResourceDescriptor:
    """Common base of :class:`Resource` and ``ResourceConfig``.

    Attributes:
        name: Cache key inside a ``ResourceManager`` (``ResourceManager.set`` uses the same key).
        cache: Whether one value is shared for the manager's lifetime.

    Example:
        >>> isinstance(Resource(dict), ResourceDescriptor)
        True
    """

    name: str
    cache: bool

    def get_dependencies(self) -> list[tuple[str, ResourceDescriptor, Any]]:
        """List the resources this one needs, as ``(parameter, descriptor, type)`` triples.

        Returns:
            An empty list unless the descriptor wraps a factory with injected parameters.

        Example:
            >>> Resource(dict).get_dependencies()
            []
        """
        return []

    def bind(self, type_annotation: Any) -> ResourceDescriptor:
        """Return the descriptor to use for a parameter annotated with ``type_annotation``.

        Most descriptors ignore the type; ``ResourceConfig`` returns a copy that validates into it.

        Example:
            >>> plain = Resource(dict)
            >>> plain.bind(dict) is plain
            True
        """
        return self

    def produce(self, dependencies: Mapping[str, Any]) -> Any:
        """Build the value from already-resolved dependencies (may return a coroutine).

        Args:
            dependencies: One value per entry of :meth:`get_dependencies`, by parameter name.

        Example:
            >>> Resource(dict).produce({})
            {}
        """
        raise NotImplementedError


@dataclass(eq=False, frozen=True)
class Resource(ResourceDescriptor, Generic[T]):
    """A value built by ``factory`` and injected where ``Annotated[T, Resource(factory)]`` appears.

    The factory may be sync or async, and may itself take ``Annotated[..., Resource(...)]``
    parameters. Cached values are keyed by the factory's ``__qualname__``, so every step of a
    workflow instance (and every run of it) shares one value.

    Args:
        factory: Callable returning the value (or a coroutine producing it).
        cache: ``False`` builds a new value for every step invocation.

    Example:
        >>> def make_client() -> dict[str, str]:
        ...     return {"url": "https://example.invalid"}
        >>> client = Resource(make_client)
        >>> client.name, client.cache
        ('make_client', True)
    """

    factory: Callable[..., T] | Callable[..., Awaitable[T]]
    cache: bool = True
    name: str = field(init=False)
    # Names visible where Resource() was written, for the factory's string annotations: a
    # factory defined inside a function may name that function's classes and variables.
    _localns: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not callable(self.factory):
            raise ResourceError(
                f"Resource() needs a callable factory, got {self.factory!r}; "
                "pass the function itself, e.g. Resource(make_client)."
            )
        caller = sys._getframe(2)  # past this method and the dataclass __init__
        if caller.f_locals is not caller.f_globals:
            object.__setattr__(self, "_localns", dict(caller.f_locals))
        fallback = type(self.factory).__name__
        object.__setattr__(self, "name", getattr(self.factory, "__qualname__", fallback))

    @property
    def _is_async(self) -> bool:
        """True when the factory is ``async`` (LlamaIndex Workflows' private name)."""
        return inspect.iscoroutinefunction(self.factory)

    async def call(self, resource_manager: Any) -> T:
        """Build a fresh value: dependencies come from ``resource_manager`` (a
        ``ResourceManager``, which caches them as usual); this value itself is not cached.

        LlamaIndex Workflows' name for building a resource by hand; steps get theirs from the
        workflow's manager, which caches it when ``cache`` is true.
        """
        params = {p: d for p, d, _ in self.get_dependencies()}
        value: Any = self.produce(await resource_manager.resolve_params(params))
        if inspect.isawaitable(value):
            value = await value
        result: T = value
        return result

    @functools.cached_property
    def dependencies(self) -> dict[str, ResourceParam]:
        """The factory's injected parameters, read once from its signature.

        Example:
            >>> Resource(dict).dependencies
            {}
        """
        return factory_dependencies(self.factory, self._localns)

    def get_dependencies(self) -> list[tuple[str, ResourceDescriptor, Any]]:
        """List the factory's injected parameters as ``(parameter, descriptor, type)`` triples.

        Example:
            >>> def base() -> int:
            ...     return 1
            >>> def derived(b: Annotated[int, Resource(base)]) -> int:
            ...     return b + 1
            >>> [(p, d.name, t) for p, d, t in Resource(derived).get_dependencies()]
            [('b', 'base', <class 'int'>)]
        """
        return [(p, dep.descriptor, dep.type) for p, dep in self.dependencies.items()]

    def produce(self, dependencies: Mapping[str, Any]) -> Any:
        """Call the factory with its dependencies; an async factory's coroutine is returned as is.

        Example:
            >>> Resource(list).produce({})
            []
        """
        return self.factory(**dependencies)


class ResourceDefinition(BaseModel):
    """One injected parameter of a step, as recorded on its step configuration.

    Attributes:
        name: The parameter name.
        resource: Its descriptor.
        type_annotation: The ``T`` of ``Annotated[T, ...]``.

    Example:
        >>> ResourceDefinition(name="client", resource=Resource(dict), type_annotation=dict).name
        'client'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    resource: ResourceDescriptor
    type_annotation: Any = None


def resource_param(annotation: Any) -> ResourceParam | None:
    """Recognise ``Annotated[T, Resource(...)]`` or ``Annotated[T, ResourceConfig(...)]``.

    Other ``Annotated`` metadata is ignored; the first descriptor wins. A ``ResourceConfig`` comes
    back bound to ``T`` (see :meth:`ResourceDescriptor.bind`) so it knows which model to load.

    Args:
        annotation: A resolved annotation (from ``get_type_hints(..., include_extras=True)``).

    Returns:
        The descriptor and ``T``, or ``None`` when the annotation injects nothing.

    Example:
        >>> param = resource_param(Annotated[dict, "doc", Resource(dict)])
        >>> param.descriptor.name, param.type
        ('dict', <class 'dict'>)
        >>> resource_param(int) is None
        True
    """
    if typing.get_origin(annotation) is not Annotated:
        return None
    base, *metadata = typing.get_args(annotation)
    for meta in metadata:
        if isinstance(meta, ResourceDescriptor):
            return ResourceParam(meta.bind(base), base)
    return None


def factory_dependencies(
    factory: Callable[..., Any], localns: Mapping[str, Any] | None = None
) -> dict[str, ResourceParam]:
    """Read which of a factory's parameters are injected resources.

    String and postponed annotations are resolved against the factory's module (plus
    ``localns``). Unresolvable annotations are tolerated on parameters with a default.

    Args:
        factory: Function, method, class, ``functools.partial`` or callable object.
        localns: Extra names for resolving annotations of factories defined inside functions.

    Returns:
        Parameter name to :class:`ResourceParam`, in signature order.

    Raises:
        ResourceError: An annotation cannot be resolved on a parameter without a default, or an
            injected parameter is positional-only.

    Example:
        >>> def token() -> str:
        ...     return "t"
        >>> def client(tok: Annotated[str, Resource(token)], retries: int = 3) -> str:
        ...     return tok
        >>> list(factory_dependencies(client))
        ['tok']
    """
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return {}  # builtins without signatures take no injected parameters
    target = _annotated_callable(factory)
    ns = dict(localns) if localns is not None else None
    try:
        hints = typing.get_type_hints(target, localns=ns, include_extras=True)
    except Exception:
        hints = _hints_one_by_one(factory, target, signature, ns)
    found: dict[str, ResourceParam] = {}
    for pname, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        dep = resource_param(hints.get(pname, param.annotation))
        if dep is None:
            continue
        if param.kind is param.POSITIONAL_ONLY:
            raise ResourceError(
                f"Parameter {pname!r} of resource factory {_describe(factory)} is positional-only;"
                " injected resources are passed by keyword, so drop the '/' before it."
            )
        found[pname] = dep
    return found


def _annotated_callable(factory: Callable[..., Any]) -> Any:
    # The object whose __annotations__ describe the call: partials wrap a function, classes
    # annotate __init__, and callable instances annotate __call__.
    target: Any = factory
    while isinstance(target, functools.partial):
        target = target.func
    if isinstance(target, type):
        return typing.cast(Any, target).__init__
    if isinstance(target, types.FunctionType | types.MethodType | types.BuiltinFunctionType):
        return target
    return target.__call__


def _hints_one_by_one(
    factory: Callable[..., Any],
    target: Any,
    signature: inspect.Signature,
    localns: dict[str, Any] | None,
) -> dict[str, Any]:
    globalns = getattr(inspect.unwrap(target), "__globals__", {})
    hints: dict[str, Any] = {}
    for pname, param in signature.parameters.items():
        if param.annotation is param.empty:
            continue
        shim = types.SimpleNamespace(__annotations__={pname: param.annotation})
        try:
            hints.update(
                typing.get_type_hints(shim, globalns=globalns, localns=localns, include_extras=True)
            )
        except Exception as exc:
            if param.default is not param.empty:
                continue  # the default is used, so the type never matters
            raise ResourceError(
                f"Cannot resolve the annotation {param.annotation!r} of parameter {pname!r} of "
                f"resource factory {_describe(factory)}: {exc}. Import the names it uses at "
                "module level, or give the parameter a default."
            ) from exc
    return hints


def _describe(factory: Callable[..., Any]) -> str:
    return repr(getattr(factory, "__qualname__", type(factory).__name__))


def ensure_acyclic(root: ResourceDescriptor) -> None:
    """Check that no factory depends on itself, directly or through others, without calling any.

    Args:
        root: The descriptor to start from.

    Raises:
        ResourceError: A cycle exists; the message names the chain, e.g. ``a -> b -> a``.

    Example:
        >>> ensure_acyclic(Resource(dict))  # no dependencies, nothing to report
    """
    chain: list[str] = []
    done: set[int] = set()

    def visit(descriptor: ResourceDescriptor) -> None:
        if id(descriptor) in done:
            return
        if descriptor.name in chain:
            cycle = " -> ".join([*chain, descriptor.name])
            raise ResourceError(
                f"Circular resource dependency detected: {cycle}. "
                "Break the cycle by removing one of these factory parameters."
            )
        chain.append(descriptor.name)
        for _, dep, _ in descriptor.get_dependencies():
            visit(dep)
        chain.pop()
        done.add(id(descriptor))

    visit(root)
