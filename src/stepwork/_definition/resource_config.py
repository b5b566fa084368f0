"""``ResourceConfig``: a pydantic model loaded from a JSON file and injected into steps.

Loading is synchronous and uncached here; the runtime's ``ResourceManager`` caches the value and
``Workflow.validate()`` calls :meth:`ResourceConfig.load` directly to check files up front.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from stepwork._core.errors import ResourceError
from stepwork._definition.resources import ResourceDescriptor

__all__ = ["ResourceConfig", "ResourceConfigFileNotFoundError"]


class ResourceConfigFileNotFoundError(ResourceError, FileNotFoundError):
    """A ``ResourceConfig`` file does not exist.

    It is both a ``ValueError`` (like every ``ResourceError``) and a ``FileNotFoundError``, which
    is what LlamaIndex Workflows raised, so either ``except`` clause catches it.
    """


@dataclass(eq=False)
class ResourceConfig(ResourceDescriptor):
    """A pydantic model read from a JSON file: ``Annotated[Model, ResourceConfig("app.json")]``.

    The file is read on first use (not here), relative to the working directory; its value is
    always cached. ``path_selector`` picks a nested object with a dotted path. ``config_file``,
    ``path_selector`` and ``cls_factory`` may be reassigned (``name`` follows); a step holds its
    own bound copy, made when its workflow class is read, so later changes do not reach it.

    Args:
        config_file: Path to a ``.json`` file.
        path_selector: Dotted keys of the sub-object to validate, e.g. ``"llm.openai"``.
        label: Human-readable label shown in workflow drawings.
        description: Longer description shown in workflow drawings.
        cls_factory: The model type; filled in from the annotation by :func:`resource_param`.

    Raises:
        ResourceError: ``config_file`` does not end in ``.json``.

    Example:
        >>> ResourceConfig("settings.json", path_selector="llm").name
        'settings.json.llm'
    """

    config_file: str
    path_selector: str | None = None
    label: str | None = None
    description: str | None = None
    cls_factory: type[BaseModel] | None = None
    name: str = field(init=False)
    cache: bool = field(init=False, default=True)

    def __post_init__(self) -> None:
        if not str(self.config_file).endswith(".json"):
            raise ResourceError(
                f"ResourceConfig only loads JSON files, got {self.config_file!r}; "
                "convert the configuration to a file ending in '.json'."
            )
        self._rename()

    def __setattr__(self, key: str, value: Any) -> None:
        object.__setattr__(self, key, value)
        if key in ("config_file", "path_selector") and "name" in self.__dict__:
            self._rename()

    def _rename(self) -> None:
        suffix = f".{self.path_selector}" if self.path_selector else ""
        object.__setattr__(self, "name", f"{self.config_file}{suffix}")

    def call(self) -> BaseModel:
        """Same as :meth:`load` (LlamaIndex Workflows' name for it)."""
        return self.load()

    def bind(self, type_annotation: Any) -> ResourceConfig:
        """Return a copy that validates into ``model`` (the ``T`` of the annotation).

        Example:
            >>> class Settings(BaseModel):
            ...     debug: bool = False
            >>> ResourceConfig("settings.json").bind(Settings).cls_factory is Settings
            True
        """
        return replace(self, cls_factory=type_annotation)

    def produce(self, dependencies: Mapping[str, Any]) -> BaseModel:
        """Same as :meth:`load`; a config has no dependencies.

        Example:
            >>> try:
            ...     ResourceConfig("absent.json").bind(BaseModel).produce({})
            ... except FileNotFoundError:
            ...     print("the file is only looked for now")
            the file is only looked for now
        """
        return self.load()

    def load(self) -> BaseModel:
        """Read the file, apply ``path_selector`` and validate into the bound model.

        Returns:
            A fresh model instance (the manager is what caches it).

        Raises:
            ResourceConfigFileNotFoundError: The file does not exist.
            ResourceError: No model is bound, the JSON is malformed, the selector reaches a
                non-object, or validation fails (the message names the file and fields).

        Example:
            >>> import json, os, tempfile
            >>> class Llm(BaseModel):
            ...     model: str
            >>> folder = tempfile.mkdtemp()
            >>> path = os.path.join(folder, "app.json")
            >>> with open(path, "w") as fh:
            ...     json.dump({"llm": {"model": "small"}}, fh)
            >>> ResourceConfig(path, path_selector="llm").bind(Llm).load()
            Llm(model='small')
        """
        model = self.cls_factory
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ResourceError(
                "Class factory should be set to a BaseModel subclass before calling.\n"
                f"ResourceConfig({self.config_file!r}) must annotate a pydantic model, got "
                f"{model!r}; write Annotated[MyModel, ResourceConfig(...)] with a BaseModel."
            )
        path = Path(self.config_file).resolve()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ResourceConfigFileNotFoundError(
                f"No such file: {self.config_file} (looked for {path}); ResourceConfig paths "
                "are relative to the working directory."
            ) from None
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ResourceError(f"Invalid JSON in {path}: {exc}") from exc
        data = _select(data, self.path_selector, path)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            where = f"{path} at path {self.path_selector!r}" if self.path_selector else str(path)
            fields = "; ".join(
                f"{'.'.join(map(str, err['loc'])) or '<root>'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ResourceError(
                f"Configuration from {where} does not match {model.__name__}: {fields}. "
                "Fix the JSON file or the model."
            ) from exc


def _select(data: Any, selector: str | None, path: Path) -> Any:
    if not selector:
        return data
    walked: list[str] = []
    for key in selector.split("."):
        if isinstance(data, dict) and key not in data:
            where = repr(".".join(walked)) if walked else "the top level"
            raise ResourceError(
                f"{_expected(path, [*walked, key], None)}\n"
                f"No key {key!r} in {path} at {where}; check path_selector={selector!r}."
            )
        if not isinstance(data, dict):
            raise _not_an_object(path, walked, data, selector)
        walked.append(key)
        data = data[key]
    if not isinstance(data, dict):
        raise _not_an_object(path, walked, data, selector)
    return data


def _expected(path: Path, walked: list[str], data: Any) -> str:
    # LlamaIndex Workflows' sentence, kept as the first line for code that matches on it.
    return (
        f"Expected dictionary for configuration from {path} at path {'.'.join(walked)}, "
        f"got: {type(data)}"
    )


def _not_an_object(path: Path, walked: list[str], data: Any, selector: str) -> ResourceError:
    return ResourceError(
        f"{_expected(path, walked, data)}\n"
        f"Expected a JSON object in {path} at path {'.'.join(walked)!r}, got "
        f"{type(data).__name__}; check path_selector={selector!r} against the file."
    )
