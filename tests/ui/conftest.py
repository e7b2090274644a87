"""Fixtures for the review-app tests: one real recording per session, a
fresh copy of the data directory per test, and an app on that copy."""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest

# This directory is tests/ui; with tests/ on sys.path (rootdir conftest), a
# bare "ui" could resolve to it as a namespace package. The project root on
# sys.path makes the real package win.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ui_recording import KitData, add_360_lesson, build
from ui import create_app
from ui.config import TestingConfig

from ui_helpers import ADMIN_PASSWORD


@pytest.fixture(scope="session")
def kit_template(tmp_path_factory: pytest.TempPathFactory) -> KitData:
    return build(tmp_path_factory.mktemp("kit-template") / "data")


@pytest.fixture
def kit(kit_template: KitData, tmp_path: Path) -> KitData:
    data_dir = tmp_path / "data"
    shutil.copytree(kit_template.data_dir, data_dir)
    return replace(kit_template, data_dir=data_dir)


@pytest.fixture(scope="session")
def sphere_template(kit_template: KitData, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data_dir = tmp_path_factory.mktemp("sphere-template") / "data"
    shutil.copytree(kit_template.data_dir, data_dir)
    return data_dir, add_360_lesson(data_dir)


@pytest.fixture
def sphere_kit(sphere_template, kit_template: KitData, tmp_path: Path) -> tuple[KitData, str]:
    """The review kit with a 12 s 360° lesson of Anna and Bram as well: (kit, its id)."""
    data_dir = tmp_path / "sphere-data"
    shutil.copytree(sphere_template[0], data_dir)
    return replace(kit_template, data_dir=data_dir), sphere_template[1]


@pytest.fixture
def app(kit: KitData):
    app = create_app(controller=None, data_dir=kit.data_dir, config=TestingConfig(admin_password=ADMIN_PASSWORD))
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()




@pytest.fixture
def controller(kit):
    """The real kit controller with a small realtime simulated camera."""
    from appliance.camera import SimulatedCamera
    from appliance.catalogue import Catalogue
    from appliance.config import KitConfig
    from appliance.daemon import KitController

    config = KitConfig(data_dir=kit.data_dir, simulate=True, width=160, height=96, fps=15, realtime=True,
                       min_minutes_left=0.0, reserve_bytes=0, serve_review=False)
    catalogue = Catalogue(kit.data_dir / "catalogue.db")
    ctl = KitController(config, catalogue, SimulatedCamera(160, 96, fps=15, realtime=True))
    yield ctl
    ctl.close()
    catalogue.close()


@pytest.fixture
def live_app(kit, controller):
    app = create_app(controller=controller, data_dir=kit.data_dir,
                     config=TestingConfig(admin_password=ADMIN_PASSWORD))
    app.testing = True
    return app


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium with the test CA installed, one per test module."""
    from ui_server import chromium

    with chromium() as b:
        yield b
