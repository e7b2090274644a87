"""The appliance.age package namespace."""

from __future__ import annotations

import subprocess
import sys


def test_importing_a_submodule_keeps_the_function_of_the_same_name():
    # A fresh interpreter: the submodule is imported before and after the
    # function is first looked up.
    probe = (
        "import appliance.age.salvage\n"
        "from appliance import age\n"
        "assert callable(age.salvage) and age.salvage.__name__ == 'salvage', age.salvage\n"
        "from appliance.age.salvage import SalvageReport, salvage\n"
        "assert age.salvage is salvage\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()


def test_public_names_resolve():
    from appliance import age

    for name in age.__all__:
        assert getattr(age, name) is not None
    assert age.decrypt_file.__module__ == "appliance.age.parallel_decrypt"
