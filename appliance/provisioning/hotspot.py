"""``kit hotspot rotate``: a new Wi-Fi password and a new teacher card, when a card is lost.

The kit's id, Wi-Fi name, keys and certificate stay; only the WPA passphrase
changes, in the committed identity, in NetworkManager's profile and on the
teacher card on the boot partition. Bringing the profile up again drops
every device that joined with the old password. Cut off halfway, running it
again finishes with yet another password (each file is replaced atomically).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from appliance.durable import write_file
from appliance.errors import KitError
from appliance.paths import KitPaths
from appliance.provisioning import label, secrets
from appliance.provisioning.firstboot import HOTSPOT_CONNECTION, Layout
from appliance.tls import TlsStore

_PSK_LINE = re.compile(r"^psk=.*$", re.MULTILINE)


def rotate(layout: Layout, *, restart: bool = True) -> str:
    """Give the hotspot a new passphrase; returns the Wi-Fi name. Needs a provisioned kit."""
    ident = layout.identity
    if not layout.marker.exists():
        raise KitError("this kit is not provisioned yet (first boot has not finished)")
    kit_id = (ident / "kit-id").read_text().strip()
    hotspot = json.loads((ident / "hotspot.json").read_text())
    passphrase = secrets.new_hotspot_passphrase()
    hotspot["passphrase"] = passphrase
    profile_path = ident / "lessonkit-hotspot.nmconnection"
    profile = profile_path.read_text(encoding="utf-8")
    if not _PSK_LINE.search(profile):
        raise KitError(f"{profile_path} has no psk= line to change")
    profile = _PSK_LINE.sub(lambda _m: f"psk={passphrase}", profile)
    store = TlsStore(KitPaths(layout.state / "data").tls, kit_id)
    card = label.TeacherCard(kit_id, hotspot["ssid"], passphrase, store.self_signed_fingerprint or "")

    # The committed identity first: it is what a rerun and first boot's install read.
    write_file(ident / "hotspot.json", json.dumps(hotspot), 0o600)
    write_file(profile_path, profile, 0o600)
    write_file(layout.root / HOTSPOT_CONNECTION, profile, 0o600)
    for name, data in ((label.CARD_TEXT, card.text()), (label.CARD_HTML, card.html()),
                       (label.LABEL_QR, label.wifi_qr_svg(hotspot["ssid"], passphrase))):
        write_file(ident / name, data, 0o600)
        write_file(layout.boot / name, data)
    if restart and layout.root == Path("/") and shutil.which("nmcli"):
        subprocess.run(["nmcli", "connection", "reload"], check=False, capture_output=True)
        subprocess.run(["nmcli", "connection", "up", "lessonkit-hotspot"], check=False, capture_output=True)
    return hotspot["ssid"]
