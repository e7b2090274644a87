"""The examples in the trajectory, retention and audit docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["appliance.trajectory.states", "appliance.trajectory.store", "appliance.sealed_json", "appliance.durable",
           "appliance.retention.policy", "appliance.retention.service", "appliance.audit.log", "ui.trajectory"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
