"""The appliance.age package namespace."""

from __future__ import annotations

import subprocess
import sys


def test_importing_every_submodule_keeps_the_public_functions():
    # A fresh interpreter: every submodule is imported (as doctest collection
    # does) before the functions are looked up; none may hide one (the
    # function age.salvage lives in appliance.age.salvaging for that reason).
    probe = (
        "import importlib, pkgutil, appliance.age as pkg\n"
        "for m in pkgutil.iter_modules(pkg.__path__): importlib.import_module('appliance.age.' + m.name)\n"
        "from appliance import age\n"
        "assert callable(age.salvage) and age.salvage.__name__ == 'salvage', age.salvage\n"
        "from appliance.age.salvaging import SalvageReport, salvage\n"
        "assert age.salvage is salvage\n"
        "assert all(not isinstance(getattr(age, n), type(pkg)) for n in age.__all__)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()


def test_public_names_resolve():
    from appliance import age

    for name in age.__all__:
        assert getattr(age, name) is not None
    assert age.decrypt_file.__module__ == "appliance.age.parallel_decrypt"
