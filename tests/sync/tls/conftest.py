"""Fixtures for kit certificates: a kit-server with kits, Knot DNS, pebble."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from sync.server import kits

import tlsbed


@pytest.fixture
def make_server(tmp_path):
    """``make_server("kit-a", "kit-b")``: an initialised kit-server root with those kits admitted."""
    def make(*kit_ids: str):
        layout = kits.init(tmp_path / "server")
        for kit_id in kit_ids:
            kits.add_kit(layout, kit_id, tlsbed.ssh_pubkey())
        return layout
    return make


@pytest.fixture(scope="module")
def knot():
    workdir = Path(tempfile.mkdtemp(prefix="lkit-knot-"))
    server = tlsbed.Knot(workdir)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def pebble(knot):
    workdir = Path(tempfile.mkdtemp(prefix="lkit-pebble-"))
    server = tlsbed.Pebble(workdir, knot.port)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
