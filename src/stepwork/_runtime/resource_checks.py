"""``Workflow.validate()``'s resource checks: config files load, and (on request) factories run.

Invariants:
    * Every problem is collected before raising, one line per step parameter, naming the step,
      the parameter and, for a nested config, the factories on the way to it.
    * Factories run in a fresh :class:`ResourceManager` on a loop of their own (in a worker
      thread), so ``validate()`` works with or without a running event loop and caches nothing
      that a later run would reuse on another loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor

from stepwork._core.errors import ResourceError, WorkflowValidationError
from stepwork._definition.decorators import StepConfig
from stepwork._definition.resource_config import ResourceConfig
from stepwork._definition.resources import ResourceDescriptor
from stepwork._runtime.resources import ResourceManager

__all__ = ["check_resources"]


def check_resources(
    configs: Mapping[str, StepConfig], *, config_files: bool, factories: bool
) -> None:
    """Raise one error listing every resource problem of a workflow's steps.

    Args:
        configs: The workflow's steps by name.
        config_files: Load and validate every ``ResourceConfig``, nested ones included.
        factories: Resolve every resource, calling its factory (and its dependencies).

    Raises:
        WorkflowValidationError: A config file is missing or invalid, or a factory failed.
    """
    if config_files:
        problems = [
            f"  - In step '{step}', parameter '{param}'{via}: {error}"
            for step, param, via, error in _config_problems(configs)
        ]
        if problems:
            raise WorkflowValidationError(
                "Resource config validation failed:\n" + "\n".join(problems)
            )
    if factories:
        with ThreadPoolExecutor(1, thread_name_prefix="stepwork-validate") as pool:
            problems = pool.submit(asyncio.run, _factory_problems(configs)).result()
        if problems:
            raise WorkflowValidationError("Resource validation failed:\n" + "\n".join(problems))


def _config_problems(
    configs: Mapping[str, StepConfig],
) -> Iterator[tuple[str, str, str, ResourceError]]:
    for step, config in configs.items():
        for param, descriptor in config.parsed.resources.items():
            for via, error in _walk(descriptor, (), set()):
                yield step, param, via, error


def _walk(
    descriptor: ResourceDescriptor, path: tuple[str, ...], seen: set[int]
) -> Iterator[tuple[str, ResourceError]]:
    if id(descriptor) in seen:
        return  # a cycle is reported when factories run
    seen.add(id(descriptor))
    if isinstance(descriptor, ResourceConfig):
        try:
            descriptor.load()
        except ResourceError as error:
            yield (f" (through {' -> '.join(path)})" if path else ""), error
        return
    try:
        dependencies = descriptor.get_dependencies()
    except ResourceError as error:
        yield (f" (through {' -> '.join(path)})" if path else ""), error
        return
    for _, dependency, _ in dependencies:
        yield from _walk(dependency, (*path, f"factory '{descriptor.name}'"), seen)


async def _factory_problems(configs: Mapping[str, StepConfig]) -> list[str]:
    manager = ResourceManager()
    problems = []
    for step, config in configs.items():
        for param, descriptor in config.parsed.resources.items():
            try:
                await manager.resolve_params({param: descriptor})
            except Exception as error:  # a factory's own error, reported with its step
                problems.append(
                    f"  - In step '{step}', parameter '{param}': {type(error).__name__}: {error}"
                )
    return problems
