"""The examples in the appliance.age docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import appliance.age

MODULES = sorted(m.name for m in pkgutil.iter_modules(appliance.age.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(f"appliance.age.{name}")
    result = doctest.testmod(module)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in appliance.age.{name}"
