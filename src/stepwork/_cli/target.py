"""Resolve a command-line target ``MODULE[:Name]`` to a workflow class or instance.

``MODULE`` is a dotted module name (imported with the current directory on ``sys.path``, as
``python -m`` does) or a path to a ``.py`` file (imported with its folder on ``sys.path``, as
``python file.py`` does). ``Name`` may be dotted (``Outer.Inner``); without it, the module must
define exactly one ``Workflow`` subclass. Every failure is a :class:`TargetError` whose message
is one line, so the command can show it without a traceback.

Example:
    >>> split_target("examples/quickstart.py:Poem")
    ('examples/quickstart.py', 'Poem')
    >>> split_target("package.module")
    ('package.module', None)
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from stepwork._runtime.workflow import Workflow

__all__ = ["Target", "TargetError", "describe_exception", "resolve_target", "split_target"]

_STEPWORK_DIR = str(Path(__file__).resolve().parent.parent) + os.sep

# Files already imported, so that naming one file twice (``check a.py:A a.py:B``) yields the
# same classes rather than two copies of the module.
_LOADED_FILES: dict[Path, ModuleType] = {}


class TargetError(Exception):
    """A target that cannot be resolved; ``str(error)`` is one line saying why."""


@dataclass(frozen=True)
class Target:
    """A resolved target.

    Attributes:
        spec: The target as the user typed it.
        workflow: The ``Workflow`` subclass or instance it names.
    """

    spec: str
    workflow: type[Workflow] | Workflow

    @property
    def workflow_class(self) -> type[Workflow]:
        """The workflow's class (the target itself when it names a class)."""
        return self.workflow if isinstance(self.workflow, type) else type(self.workflow)


def split_target(spec: str) -> tuple[str, str | None]:
    """Split ``MODULE[:Name]`` into the module part and the name (``None`` when omitted)."""
    module_ref, colon, name = spec.rpartition(":")
    # "C:\\flows\\a.py" or "dir:x/a.py": what follows the colon is a path, not a name.
    if not colon or not name or any(ch in name for ch in "/\\") or name.endswith(".py"):
        return spec.removesuffix(":") if name == "" else spec, None
    return module_ref, name


def resolve_target(spec: str) -> Target:
    """Import the module of ``spec`` and return the workflow it names.

    Raises:
        TargetError: If the file or module does not exist or fails to import, the name is
            missing, or it names something that is not a workflow.
    """
    module_ref, name = split_target(spec)
    if not module_ref:
        raise TargetError(f"no module in target {spec!r}: expected MODULE:Workflow")
    module = _load_module(module_ref)
    if name is None:
        return Target(spec, _single_workflow(module, module_ref))
    value: Any = module
    for part in name.split("."):
        if not hasattr(value, part):
            known = ", ".join(_defined_workflows(module)) or "none"
            raise TargetError(
                f"no attribute {name!r} in {module_ref} (workflows defined there: {known})"
            )
        value = getattr(value, part)
    if isinstance(value, Workflow) or (isinstance(value, type) and issubclass(value, Workflow)):
        return Target(spec, value)
    raise TargetError(
        f"{spec} is {_describe(value)}, not a workflow: expected a Workflow subclass or instance"
    )


def describe_exception(error: BaseException) -> str:
    """``Type: message`` of ``error``, with the file and line it came from when known.

    The line named is the last one outside stepwork itself: the user's code that failed.

    Example:
        >>> describe_exception(ValueError("bad value"))
        'ValueError: bad value'
    """
    text = type(error).__name__
    message = str(error).strip().splitlines()
    if message:
        text += f": {message[0]}"
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith(_STEPWORK_DIR)
    ]
    if frames and not isinstance(error, SyntaxError):  # a SyntaxError names its own line
        text += f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})"
    return text


def _load_module(module_ref: str) -> ModuleType:
    if module_ref.endswith(".py") or "/" in module_ref or os.sep in module_ref:
        return _load_file(module_ref)
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module_ref)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing and (module_ref == missing or module_ref.startswith(missing + ".")):
            raise TargetError(f"no such module: {module_ref}") from None
        raise TargetError(f"cannot import {module_ref}: {describe_exception(error)}") from None
    except (Exception, SystemExit) as error:
        raise TargetError(f"cannot import {module_ref}: {describe_exception(error)}") from None


def _load_file(module_ref: str) -> ModuleType:
    path = Path(module_ref)
    if not path.exists():
        raise TargetError(f"no such file: {module_ref}")
    if not path.is_file():
        raise TargetError(f"not a file: {module_ref}")
    path = path.resolve()
    if path in _LOADED_FILES:
        return _LOADED_FILES[path]
    name = path.stem
    existing = sys.modules.get(name)
    if existing is not None and _same_file(existing, path):
        _LOADED_FILES[path] = existing
        return existing
    if existing is not None or not name.isidentifier():
        name = f"_stepwork_target_{len(_LOADED_FILES)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot import {module_ref}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    # Registered before running so that pydantic and pickling can find the module's classes.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        del sys.modules[name]
        raise TargetError(f"cannot import {module_ref}: {describe_exception(error)}") from None
    _LOADED_FILES[path] = module
    return module


def _same_file(module: ModuleType, path: Path) -> bool:
    filename = getattr(module, "__file__", None)
    return filename is not None and Path(filename).resolve() == path


def _defined_workflows(module: ModuleType) -> list[str]:
    return [
        name
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, Workflow)
        and value is not Workflow
        and value.__module__ == module.__name__
    ]


def _single_workflow(module: ModuleType, module_ref: str) -> type[Workflow]:
    names = _defined_workflows(module)
    if not names:
        raise TargetError(f"no Workflow subclass defined in {module_ref}")
    if len(names) > 1:
        raise TargetError(
            f"several workflows in {module_ref}: {', '.join(names)}; "
            f"name one as {module_ref}:{names[0]}"
        )
    found: type[Workflow] = getattr(module, names[0])
    return found


def _describe(value: Any) -> str:
    if isinstance(value, ModuleType):
        return f"the module {value.__name__}"
    if isinstance(value, type):
        return f"the class {value.__qualname__}"
    if callable(value):
        return f"the function {getattr(value, '__qualname__', repr(value))}"
    return f"an instance of {type(value).__qualname__}"
