"""The examples in the camera and footage docstrings run."""

import doctest
import importlib

import pytest

MODULES = [
    "appliance.camera.base",
    "appliance.camera.test_pattern",
    "appliance.camera.replay",
    "appliance.footage.mp4boxes",
    "appliance.footage.plaintext_scan",
    "appliance.footage.recorder",
    "appliance.footage.store",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
