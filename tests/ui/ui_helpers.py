"""Helpers for the review-app tests (unique module name: tests/ui is on sys.path)."""

from __future__ import annotations

import re

from ui_recording import PASSPHRASES, KitData

ADMIN_PASSWORD = "admin-password-123"


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
