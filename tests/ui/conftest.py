"""Fixtures for the review-app tests: one real recording per session, a
fresh copy of the data directory per test, and an app on that copy."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tests.ui.recording_fixture import PASSPHRASES, KitData, build
from ui import create_app
from ui.config import TestingConfig

ADMIN_PASSWORD = "admin-password-123"


@pytest.fixture(scope="session")
def kit_template(tmp_path_factory: pytest.TempPathFactory) -> KitData:
    return build(tmp_path_factory.mktemp("kit-template") / "data")


@pytest.fixture
def kit(kit_template: KitData, tmp_path: Path) -> KitData:
    data_dir = tmp_path / "data"
    shutil.copytree(kit_template.data_dir, data_dir)
    return replace(kit_template, data_dir=data_dir)


@pytest.fixture
def app(kit: KitData):
    app = create_app(controller=None, data_dir=kit.data_dir, config=TestingConfig(admin_password=ADMIN_PASSWORD))
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_of(client) -> str:
    return client.get("/api/session").get_json()["csrf_token"]


def unlock(client, kit: KitData, name: str = "Anna", passphrase: str | None = None):
    token = csrf_of(client)
    return client.post("/unlock", data={
        "csrf_token": token, "person": kit.people[name]["id"],
        "passphrase": PASSPHRASES[name] if passphrase is None else passphrase,
    })


def login_admin(client, password: str = ADMIN_PASSWORD):
    return client.post("/admin/login", data={"csrf_token": csrf_of(client), "password": password})


def page_csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
