"""Docstring examples run: every module's doctests pass."""

from __future__ import annotations

import doctest
import importlib
import pathlib

import pytest

import stepwork

SRC = pathlib.Path(stepwork.__file__).parent
MODULES = sorted(
    "stepwork." + ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
    for path in SRC.rglob("*.py")
)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name.removesuffix("."))
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
