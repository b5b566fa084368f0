"""House rules that must not rot: the public surface, the pure core, module sizes."""

from __future__ import annotations

import ast
import importlib
import pathlib

import stepwork

SRC = pathlib.Path(stepwork.__file__).parent

# Modules allowed past the 500-line cap, each with its reason.
SIZE_EXCEPTIONS: dict[str, str] = {}

# What the pure core may import: the standard library's pure parts, pydantic, typing helpers.
CORE_FORBIDDEN = {"asyncio", "time", "logging", "threading", "socket", "os", "subprocess", "io"}


def test_top_level_all_is_sorted_and_importable() -> None:
    assert stepwork.__all__ == sorted(stepwork.__all__)
    for name in stepwork.__all__:
        assert getattr(stepwork, name) is not None


def test_drop_in_names_are_exported() -> None:
    for name in (
        "Workflow",
        "step",
        "catch_error",
        "Context",
        "Event",
        "StartEvent",
        "StopEvent",
        "InputRequiredEvent",
        "HumanResponseEvent",
        "WorkflowHandler",
        "WorkflowRuntimeError",
        "WorkflowTimeoutError",
        "WorkflowValidationError",
        "WorkflowCancelledByUser",
        "ContextStateError",
        "ContextSerdeError",
        "Resource",
        "ResourceConfig",
        "retry_policy",
        "ConstantDelayRetryPolicy",
        "ExponentialBackoffRetryPolicy",
        "Collect",
        "Take",
        "All",
    ):
        assert name in stepwork.__all__, name


def test_every_module_declares_all() -> None:
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        assert "__all__" in names, f"{path.relative_to(SRC)} has no __all__"


def test_public_submodules_reexport_only() -> None:
    for name in (
        "events",
        "errors",
        "retry_policy",
        "resource",
        "collect",
        "context",
        "decorators",
        "handler",
        "workflow",
        "testing",
        "testing.runner",
        "context.context",
        "context.serializers",
        "context.state_store",
        "context.external_context",
        "context.internal_context",
        "context.pre_context",
        "representation",
        "representation.types",
        "representation.build",
        "types",
        "compat",
    ):
        module = importlib.import_module(f"stepwork.{name}")
        tree = ast.parse(pathlib.Path(module.__file__ or "").read_text())
        defined = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        assert not defined, f"stepwork.{name} defines {[d.name for d in defined]}"


def test_core_is_pure() -> None:
    for path in (SRC / "_core").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                root = module.split(".")[0]
                assert root not in CORE_FORBIDDEN, f"{path.name} imports {module}"
                if root == "stepwork":
                    assert module.startswith("stepwork._core"), f"{path.name} imports {module}"


# Which private packages each private package may import (docs/design.md, "Layers").
LAYERS: dict[str, set[str]] = {
    "_core": {"_core"},
    "_definition": {"_core", "_definition"},
    "_stores": {"_core", "_stores"},
    "_drawing": {"_core", "_drawing"},
    "_runtime": {"_core", "_definition", "_stores", "_drawing", "_runtime"},
    "_client": {"_core", "_client"},
    "_server": {"_core", "_definition", "_stores", "_drawing", "_runtime", "_server"},
    "_cli": {"_core", "_definition", "_stores", "_drawing", "_runtime", "_server", "_cli"},
    "_compat": {"_core", "_compat"},
}


# Leaf modules beside the packages, importable by every layer but the pure core.
LEAVES = {"_version"}


def test_layers_import_only_what_is_below_them() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and p.name.startswith("_")}
    assert packages - {"__pycache__"} == set(LAYERS)
    for package, layers in LAYERS.items():
        allowed = layers if package == "_core" else layers | LEAVES
        for path in (SRC / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stepwork."):
                    layer = (node.module or "").split(".")[1]
                    assert layer in allowed, f"{package}/{path.name} imports {node.module}"


def test_modules_stay_small() -> None:
    for path in SRC.rglob("*.py"):
        relative = str(path.relative_to(SRC))
        lines = len(path.read_text().splitlines())
        if relative not in SIZE_EXCEPTIONS:
            assert lines <= 500, f"{relative} has {lines} lines (cap 500)"


PUBLIC_MODULES = [
    "stepwork",
    *(
        f"stepwork.{name}"
        for name in (
            "events errors retry_policy resource collect context decorators handler workflow "
            "testing testing.runner context.context context.serializers context.state_store "
            "context.external_context context.internal_context context.pre_context "
            "representation representation.types representation.build types compat drawing "
            "stores server client workers"
        ).split()
    ),
]


def test_every_exported_class_reports_a_public_module_that_exports_it() -> None:
    import pickle

    from stepwork._core.event_fields import qualified_name
    from stepwork._core.public_names import PRIVATE_NAMES
    from stepwork._stores.type_registry import TypeRegistry

    registry = TypeRegistry.default()
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for attribute in module.__all__:
            cls = getattr(module, attribute)
            if not isinstance(cls, type) or not cls.__module__.startswith("stepwork"):
                continue
            home = importlib.import_module(cls.__module__)
            assert not any(part.startswith("_") for part in cls.__module__.split(".")), (
                f"{name}.{attribute} reports {cls.__module__}"
            )
            assert getattr(home, cls.__qualname__) is cls
            assert pickle.loads(pickle.dumps(cls)) is cls
            if cls in registry:  # names written before public names still load
                olds = [old for old, known in PRIVATE_NAMES.items() if known is cls]
                assert olds and all(registry.lookup(old) is cls for old in olds)
                assert registry.lookup(qualified_name(cls)) is cls


def test_public_names_do_not_depend_on_import_order() -> None:
    import subprocess
    import sys

    probe = (
        "import stepwork.{first} as m, stepwork;"
        "from stepwork.context import DictState;"
        "print(stepwork.StopEvent.__module__, stepwork.Context.__module__, DictState.__module__,"
        " stepwork.WorkflowRuntimeError.__module__)"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", probe.format(first=first)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for first in ("context.pre_context", "events", "server", "testing")
    }
    assert seen == {
        "stepwork.events stepwork.context.context stepwork.context.state_store stepwork.errors\n"
    }
