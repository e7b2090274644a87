"""First boot on a fake kit root: what it produces, that it runs once, and bad input."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_ssh_private_key, load_ssh_public_key

from appliance.provisioning.config import ProvisioningFileError
from appliance.provisioning.firstboot import Layout, provision

from .test_provisioning_file import GOOD, HOST_KEY


def read_state(root: Path) -> dict:
    """Everything a provisioned kit exposes, for comparing runs."""
    ident = root / "var/lib/lessonkit/identity"
    hotspot = json.loads((ident / "hotspot.json").read_text())
    return {
        "kit_id": (ident / "kit-id").read_text().strip(),
        "ssid": hotspot["ssid"],
        "passphrase": hotspot["passphrase"],
        "host_key": (root / "etc/ssh/ssh_host_ed25519_key").read_bytes(),
        "host_key_ecdsa": (root / "etc/ssh/ssh_host_ecdsa_key").read_bytes(),
        "sync_key": (ident / "sync_ed25519").read_bytes(),
        "sync_pub": (ident / "sync_ed25519.pub").read_text().strip(),
    }


def check_consistent(root: Path) -> dict:
    """A fully provisioned kit: every installed file agrees with the committed identity."""
    state = read_state(root)
    ident = root / "var/lib/lessonkit/identity"
    assert (root / "var/lib/lessonkit/provisioned").read_text().startswith(state["kit_id"] + " ")
    assert not (root / "var/lib/lessonkit/identity.staging").exists()
    assert (root / "etc/hostname").read_text().strip() == state["kit_id"]
    nm = (root / "etc/NetworkManager/system-connections/lessonkit-hotspot.nmconnection").read_text()
    assert f"ssid={state['ssid']}\n" in nm and f"psk={state['passphrase']}\n" in nm
    assert "@" not in "".join(l for l in nm.splitlines() if not l.startswith("#"))
    boot = root / "boot/firmware"
    label = (boot / "lessonkit-label.txt").read_text()
    assert state["kit_id"] in label and state["passphrase"] not in label and state["ssid"] not in label
    card = (boot / "lessonkit-teacher-card.txt").read_text()
    assert state["passphrase"] in card and state["ssid"] in card
    assert state["sync_pub"] in (boot / "lessonkit-register.txt").read_text()
    assert (boot / "lessonkit-wifi.svg").read_bytes() == (ident / "lessonkit-wifi.svg").read_bytes()
    # The review page's TLS key is made on the kit, owned by the data directory, and the card
    # carries the fingerprint of the certificate the kit serves by address.
    from appliance.tls import TlsStore
    tls = root / "var/lib/lessonkit/data/tls"
    assert stat.S_IMODE((tls / "key.pem").stat().st_mode) == 0o600
    served = TlsStore(tls, state["kit_id"]).best()
    assert served.issuer == "self-signed" and served.info.fingerprint in card
    assert "10.42.0.1" in served.info.ips
    # Keys are real OpenSSH keys and the public halves match the private ones.
    for private, public in [
        (root / "etc/ssh/ssh_host_ed25519_key", root / "etc/ssh/ssh_host_ed25519_key.pub"),
        (root / "etc/ssh/ssh_host_ecdsa_key", root / "etc/ssh/ssh_host_ecdsa_key.pub"),
        (ident / "sync_ed25519", ident / "sync_ed25519.pub"),
        (root / "var/lib/lessonkit/data/sync/id_ed25519", root / "var/lib/lessonkit/data/sync/id_ed25519.pub"),
    ]:
        key = load_ssh_private_key(private.read_bytes(), None)
        pub = load_ssh_public_key(public.read_bytes())
        assert key.public_key() == pub
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "etc/NetworkManager/system-connections/lessonkit-hotspot.nmconnection").stat().st_mode) == 0o600
    # The sync agent's key (DATA/sync/id_ed25519) is the one on the label.
    assert (root / "var/lib/lessonkit/data/sync/id_ed25519").read_bytes() == state["sync_key"]
    return state


def test_provisions_a_fresh_kit(kit_root: Path):
    kit_id = provision(Layout.for_root(kit_root), grow=False)
    state = check_consistent(kit_root)
    assert state["kit_id"] == kit_id
    toml = (kit_root / "etc/lessonkit/kit.toml").read_text()
    assert f'id = "{kit_id}"' in toml and "server" not in toml.split("[sync]")[1].replace("known_hosts", "")


def test_runs_once(kit_root: Path):
    layout = Layout.for_root(kit_root)
    first = provision(layout, grow=False)
    before = read_state(kit_root)
    assert provision(layout, grow=False) == first
    assert read_state(kit_root) == before


def test_two_kits_share_nothing(tmp_path: Path, kit_root: Path):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(kit_root, other)
    provision(Layout.for_root(kit_root), grow=False)
    provision(Layout.for_root(other), grow=False)
    a, b = read_state(kit_root), read_state(other)
    for key in a:
        assert a[key] != b[key], key


def test_provisioning_file_is_applied(kit_root: Path):
    boot = kit_root / "boot/firmware"
    (boot / "lessonkit.toml").write_text(GOOD.replace('address = "sync.school.example"', 'address = "sync.school.example:2222"'))
    provision(Layout.for_root(kit_root), grow=False)
    check_consistent(kit_root)
    assert not (boot / "lessonkit.toml").exists() and (boot / "lessonkit.toml.applied").exists()
    known = (kit_root / "var/lib/lessonkit/ssh/known_hosts").read_text()
    assert known == f"[sync.school.example]:2222 {HOST_KEY}\n"
    toml = (kit_root / "etc/lessonkit/kit.toml").read_text()
    assert 'server = "sync.school.example"' in toml and "port = 2222" in toml and 'user = "kits"' in toml
    shadow = (kit_root / "etc/shadow").read_text().splitlines()
    assert shadow[2].split(":")[1].startswith("$y$")  # kitadmin
    assert shadow[:2] == ["root:*:19000:0:99999:7:::", "lessonkit:!:19000:0:99999:7:::"]
    assert (kit_root / "home/kitadmin/.ssh/authorized_keys").read_text() == HOST_KEY + "\n"
    assert "ieee80211_regdom=DE" in (kit_root / "etc/modprobe.d/lessonkit-wifi-country.conf").read_text()


def test_bad_provisioning_file_stops_before_anything_and_says_why(kit_root: Path):
    boot = kit_root / "boot/firmware"
    (boot / "lessonkit.toml").write_text('[hotspot]\ncountry = "Holland"\n')
    res = subprocess.run(
        [sys.executable, "-m", "kit", "firstboot", "--root", str(kit_root), "--no-grow"],
        capture_output=True, text=True,
    )
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1].startswith("kit: lessonkit.toml: [hotspot] country")
    assert "Traceback" not in res.stderr
    assert "country" in (boot / "lessonkit-error.txt").read_text()
    assert not (kit_root / "var/lib/lessonkit/identity").exists()
    assert not (kit_root / "var/lib/lessonkit/provisioned").exists()
    # IT fixes the file and powers on again: provisioning completes, error note gone.
    (boot / "lessonkit.toml").write_text('[hotspot]\ncountry = "NL"\n')
    res = subprocess.run(
        [sys.executable, "-m", "kit", "firstboot", "--root", str(kit_root), "--no-grow"],
        capture_output=True, text=True,
    )
    assert res.returncode == 0, res.stderr
    check_consistent(kit_root)
    assert not (boot / "lessonkit-error.txt").exists()


def test_full_boot_partition_loses_nothing(kit_root: Path, monkeypatch):
    """The label cannot be written (boot partition full): first boot fails loudly, and a rerun
    with space keeps the identity it already committed."""
    from appliance.provisioning import firstboot

    real = firstboot.write_file

    def full_on_boot(path, data, mode=0o644):
        if "boot/firmware" in str(path):
            raise OSError(28, "No space left on device")
        return real(path, data, mode)

    monkeypatch.setattr(firstboot, "write_file", full_on_boot)
    layout = Layout.for_root(kit_root)
    with pytest.raises(OSError):
        provision(layout, grow=False)
    assert not layout.marker.exists()
    committed = (layout.identity / "kit-id").read_text()
    monkeypatch.setattr(firstboot, "write_file", real)
    provision(layout, grow=False)
    assert check_consistent(kit_root)["kit_id"] == committed.strip()


def test_hotspot_rotate_gives_a_new_password_and_card(kit_root: Path):
    """A lost teacher card: `kit hotspot rotate` changes only the Wi-Fi password, everywhere."""
    provision(Layout.for_root(kit_root), grow=False)
    before = read_state(kit_root)
    out = subprocess.run([sys.executable, "-m", "kit", "hotspot", "rotate", "--root", str(kit_root)],
                         capture_output=True, text=True, check=True)
    assert before["ssid"] in out.stdout
    after = check_consistent(kit_root)  # the profile and the card agree with the identity
    assert after["passphrase"] != before["passphrase"]
    assert {k: v for k, v in after.items() if k != "passphrase"} == {k: v for k, v in before.items() if k != "passphrase"}
    for path in [*(kit_root / "boot/firmware").iterdir(), *(kit_root / "var/lib/lessonkit/identity").iterdir(),
                 kit_root / "etc/NetworkManager/system-connections/lessonkit-hotspot.nmconnection"]:
        assert before["passphrase"].encode() not in path.read_bytes(), path


def _served_by_address(store) -> bytes:
    """The DER certificate a browser gets at ``https://<kit address>/`` (no SNI), from the kit's own contexts."""
    import socket
    import ssl
    import threading

    from appliance.tls.context import ServingContexts

    contexts = ServingContexts(store)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        def answer() -> None:
            conn, _ = listener.accept()
            with contexts.context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        client = ssl.create_default_context()
        client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
        with socket.create_connection(listener.getsockname(), timeout=10) as raw:
            with client.wrap_socket(raw) as tls:  # no server_hostname: no SNI, as by address
                der = tls.getpeercert(binary_form=True)
                tls.sendall(b"x")
        thread.join(10)
    return der


def test_rotated_card_keeps_the_fingerprint_served_by_address_once_a_certificate_is_issued(kit_root: Path):
    """The card's fingerprint is the one a teacher checks at https://10.42.0.1/: after the school
    server has issued a certificate for the kit's name, that is still the self-signed one."""
    import hashlib

    from appliance.tls import TlsStore
    from tests.support.tls import KITS_DOMAIN, TestCA

    provision(Layout.for_root(kit_root), grow=False)
    kit_id = read_state(kit_root)["kit_id"]
    store = TlsStore(kit_root / "var/lib/lessonkit/data/tls", kit_id)
    issued = store.install({"issuer": "school-ca",
                            "chain_pem": TestCA.create().sign(store.csr(), f"{kit_id}.{KITS_DOMAIN}")})
    assert issued is not None and store.best().issuer == "school-ca"  # the precondition of the bug

    subprocess.run([sys.executable, "-m", "kit", "hotspot", "rotate", "--root", str(kit_root)],
                   capture_output=True, text=True, check=True)
    card = (kit_root / "boot/firmware/lessonkit-teacher-card.txt").read_text()
    by_address = hashlib.sha256(_served_by_address(store)).hexdigest().upper()
    shown = ":".join(by_address[i:i + 2] for i in range(0, len(by_address), 2))
    assert shown in card
    assert issued.fingerprint not in card
