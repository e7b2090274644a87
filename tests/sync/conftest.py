"""Fixtures for sync: a kit-server root, a real sshd on loopback, kits."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from appliance.catalogue import Catalogue
from tests.support import testbed
from sync.server import kits



@pytest.fixture
def layout(tmp_path):
    return kits.init(tmp_path / "server")


@pytest.fixture(scope="module")
def ssh_server():
    why = testbed.can_run()
    if why:
        pytest.skip(why)
    layout, base = testbed.make_server()
    server = testbed.SshServer(base, layout).start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


class Kit:
    def __init__(self, data_dir: Path, kit_id: str) -> None:
        self.data_dir = data_dir
        self.kit_id = kit_id
        self.catalogue = Catalogue(data_dir / "catalogue.db")


@pytest.fixture
def make_kit(tmp_path, ssh_server):
    made = []

    def make(kit_id: str) -> Kit:
        kit = Kit(tmp_path / kit_id, kit_id)
        testbed.provision_kit(kit.data_dir, ssh_server.layout, kit_id, ssh_server)
        made.append(kit)
        return kit

    yield make
    for kit in made:
        kit.catalogue.close()

