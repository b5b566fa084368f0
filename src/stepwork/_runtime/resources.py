"""Turn resource descriptors into values for one workflow instance.

A :class:`ResourceManager` belongs to a workflow instance, so cached resources are shared by every
step and every run of it. Cached values are keyed by descriptor name (a factory's
``__qualname__``, or a config's file and selector). Uncached resources are built once per
resolution: a step whose parameters need the same uncached factory twice gets one value.

Concurrent step invocations that miss the cache together build a cached resource once: the first
builds, the others wait for it. That cannot deadlock because cycles are rejected, statically,
before anything is built.
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from collections.abc import Mapping
from typing import Any

from stepwork._definition.resources import ResourceDescriptor, ensure_acyclic

__all__ = ["ResourceManager", "resolve_all"]


class ResourceManager:
    """Resolves and caches resources for a workflow instance.

    Attributes:
        resources: Cached values by name; :meth:`set` writes here and :meth:`get` reads here first.

    Example:
        >>> import asyncio
        >>> from stepwork.resource import Resource
        >>> def make_pool() -> list[str]:
        ...     return ["conn"]
        >>> manager = ResourceManager()
        >>> first = asyncio.run(manager.get(Resource(make_pool)))
        >>> first is asyncio.run(manager.get(Resource(make_pool)))
        True
    """

    def __init__(self) -> None:
        self.resources: dict[str, Any] = {}
        self._building: dict[str, asyncio.Future[Any]] = {}
        # Weak, so descriptors made on the fly (tests, ad-hoc get() calls) do not pile up.
        self._acyclic: weakref.WeakSet[ResourceDescriptor] = weakref.WeakSet()

    async def set(self, name: str, val: Any) -> None:
        """Store a value under ``name``, as if a cached resource of that name had built it.

        Use it to pre-seed or override a resource, e.g. with a fake in tests; a factory's name is
        its ``__qualname__``.

        Args:
            name: The cache key.
            val: The value to inject.

        Example:
            >>> import asyncio
            >>> from stepwork.resource import Resource
            >>> def llm() -> str:
            ...     return "real"
            >>> manager = ResourceManager()
            >>> asyncio.run(manager.set("llm", "fake"))
            >>> asyncio.run(manager.get(Resource(llm)))
            'fake'
        """
        self.resources[name] = val

    async def get(self, resource: ResourceDescriptor) -> Any:
        """Resolve one descriptor, building it and its dependencies as needed.

        Args:
            resource: A ``Resource`` or a ``ResourceConfig`` bound to its model.

        Returns:
            The cached value, or a freshly built one.

        Raises:
            ResourceError: Circular dependencies, unresolvable factory annotations, or a bad
                configuration file. Whatever a factory raises propagates unchanged.

        Example:
            >>> import asyncio
            >>> from stepwork.resource import Resource
            >>> asyncio.run(ResourceManager().get(Resource(dict, cache=False)))
            {}
        """
        return await self._resolve(resource, {})

    def get_all(self) -> dict[str, Any]:
        """Return a copy of every cached value by name.

        Example:
            >>> import asyncio
            >>> manager = ResourceManager()
            >>> asyncio.run(manager.set("answer", 42))
            >>> manager.get_all()
            {'answer': 42}
        """
        return dict(self.resources)

    def cached_values(self, params: Mapping[str, ResourceDescriptor]) -> dict[str, Any] | None:
        """Return every parameter's value when all are cached already, else ``None``.

        This is the fast path of :func:`resolve_all`; it never awaits, so the engine may call it
        directly and skip creating a coroutine.

        Args:
            params: Parameter name to descriptor.

        Example:
            >>> import asyncio
            >>> from stepwork.resource import Resource
            >>> manager = ResourceManager()
            >>> manager.cached_values({"d": Resource(dict)}) is None
            True
            >>> _ = asyncio.run(manager.get(Resource(dict)))
            >>> manager.cached_values({"d": Resource(dict)})
            {'d': {}}
        """
        cache = self.resources
        values: dict[str, Any] = {}
        for param, descriptor in params.items():
            if not descriptor.cache or descriptor.name not in cache:
                return None
            values[param] = cache[descriptor.name]
        return values

    async def resolve_params(self, params: Mapping[str, ResourceDescriptor]) -> dict[str, Any]:
        """Resolve several parameters in one resolution (uncached values shared among them).

        Args:
            params: Parameter name to descriptor.

        Returns:
            Parameter name to value, in the order given.

        Example:
            >>> import asyncio
            >>> from stepwork.resource import Resource
            >>> once = Resource(object, cache=False)
            >>> values = asyncio.run(ResourceManager().resolve_params({"a": once, "b": once}))
            >>> values["a"] is values["b"]
            True
        """
        scope: dict[str, Any] = {}
        return {param: await self._resolve(d, scope) for param, d in params.items()}

    async def _resolve(self, descriptor: ResourceDescriptor, scope: dict[str, Any]) -> Any:
        name = descriptor.name
        if descriptor.cache:
            if name in self.resources:
                return self.resources[name]
        elif name in scope:
            return scope[name]
        if descriptor not in self._acyclic:
            ensure_acyclic(descriptor)
            self._acyclic.add(descriptor)
        if descriptor.cache:
            return await self._build_shared(descriptor, scope)
        value = await self._build(descriptor, scope)
        scope[name] = value
        return value

    async def _build(self, descriptor: ResourceDescriptor, scope: dict[str, Any]) -> Any:
        dependencies = {
            param: await self._resolve(dep, scope)
            for param, dep, _ in descriptor.get_dependencies()
        }
        value = descriptor.produce(dependencies)
        # A lambda wrapping an async call returns a coroutine too; a coroutine is never a useful
        # resource (it can be awaited only once), so awaiting it is always what was meant.
        if inspect.iscoroutine(value):
            value = await value
        return value

    async def _build_shared(self, descriptor: ResourceDescriptor, scope: dict[str, Any]) -> Any:
        name = descriptor.name
        loop = asyncio.get_running_loop()
        while (pending := self._building.get(name)) is not None:
            if pending.get_loop() is not loop:
                # Left behind by a loop that died mid-build (the manager outlives asyncio.run).
                del self._building[name]
                break
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if pending.cancelled() and not _being_cancelled():
                    continue  # the builder was cancelled, not us: build it ourselves
                raise
        if name in self.resources:  # built while we waited for a cancelled builder
            return self.resources[name]
        done: asyncio.Future[Any] = loop.create_future()
        self._building[name] = done
        try:
            value = await self._build(descriptor, scope)
        except BaseException as exc:
            if isinstance(exc, Exception):
                done.set_exception(exc)
                done.exception()  # marks it retrieved: with no waiters asyncio would log it
            else:
                done.cancel()  # waiters that were not cancelled themselves retry
            raise
        finally:
            del self._building[name]
        self.resources[name] = value
        done.set_result(value)
        return value


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def resolve_all(
    manager: ResourceManager, params: Mapping[str, ResourceDescriptor]
) -> dict[str, Any]:
    """Build the resource keyword arguments of one step invocation.

    When every value is cached this is one dict lookup per parameter and nothing is awaited.

    Args:
        manager: The workflow instance's manager.
        params: Parameter name to descriptor, from the step's signature.

    Returns:
        Parameter name to value.

    Example:
        >>> import asyncio
        >>> from stepwork.resource import Resource
        >>> asyncio.run(resolve_all(ResourceManager(), {"items": Resource(list)}))
        {'items': []}
    """
    values = manager.cached_values(params)
    if values is not None:
        return values
    return await manager.resolve_params(params)
