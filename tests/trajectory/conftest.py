from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from trajectory_kit import make_kit  # noqa: E402


@pytest.fixture
def kit(tmp_path):
    made = make_kit(tmp_path / "data")
    yield made
    made.controller.close()
    made.catalogue.close()


@pytest.fixture(scope="session")
def school_server():
    """A kit-server root behind a real sshd on loopback (the sync engineer's testbed)."""
    from tests.support import testbed

    why = testbed.can_run()
    if why:
        pytest.skip(why)
    layout, base = testbed.make_server(prefix="lkit-traj-")
    server = testbed.SshServer(base, layout).start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)
