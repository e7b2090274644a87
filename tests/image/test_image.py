"""Checks of the built SD-card image (``make image-test``), in the order IT meets them.

1. the files IT downloads: checksum, bmap, the card written with bmaptool;
2. the partition table and the three file systems;
3. nothing from the build machine and no per-kit secret inside the image;
4. our systemd units pass ``systemd-analyze verify`` inside the image's root;
5. first boot in a chroot of the image (arm64 under qemu-user);
6. ``kit run --simulate`` in that chroot serves the kit's page over HTTP;
7. two builds, each provisioned: no host key, sync key or passphrase in common.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import IMAGE_A, MountedKit, OpenedImage, needs_image, run

pytestmark = needs_image

OUR_UNITS = ["lessonkit.service", "lessonkit-firstboot.service", "lessonkit-captive.service"]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- 1. the downloads --------------------------------------------------------


def test_artifacts_are_named_and_checksummed():
    xz = Path(IMAGE_A)
    assert re.fullmatch(r"lessonkit-[0-9][^-]*-arm64\.img\.xz", xz.name), xz.name
    sums = xz.with_name(xz.name + ".sha256").read_text().split()
    assert sums == [sha256_of(xz), xz.name]
    assert xz.with_suffix(".bmap").exists()


def test_bmaptool_card_equals_dd_card(image_a: OpenedImage):
    """bmaptool (which checks the bmap's block checksums) and xz | dd give the same card."""
    dd = subprocess.Popen(["xz", "-dc", str(image_a.xz)], stdout=subprocess.PIPE)
    h = hashlib.sha256()
    for block in iter(lambda: dd.stdout.read(1 << 20), b""):
        h.update(block)
    assert dd.wait() == 0
    assert h.hexdigest() == sha256_of(image_a.raw)


# --- 2. partitions and file systems -----------------------------------------


def test_partition_table(image_a: OpenedImage):
    table = image_a.table
    assert table["label"] == "dos"  # what every Pi's boot ROM reads
    boot, root, data = image_a.partitions
    assert (boot.type, root.type, data.type) == ("c", "83", "83")
    assert boot.bootable
    for p in image_a.partitions:
        assert p.start % (4 << 20) == 0, f"partition {p.number} not aligned to 4 MiB"
    assert boot.start + boot.size <= root.start and root.start + root.size <= data.start
    # The data partition is last so first boot can grow it to the end of the card.
    assert data.start + data.size == image_a.raw.stat().st_size


def test_file_systems_are_clean_and_labelled(image_a: OpenedImage):
    boot, root, data = image_a.partitions
    probe = run("blkid", "-p", "-O", str(boot.start), "-S", str(boot.size), "-o", "export", str(image_a.raw)).stdout
    assert "TYPE=vfat" in probe and "LABEL=LKBOOT" in probe
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    listing = run("mdir", "-b", "-i", f"{image_a.raw}@@{boot.start}", "::/", env=env).stdout
    for name in ("config.txt", "cmdline.txt", "start4.elf", "bcm2711-rpi-4-b.dtb"):
        assert f"::/{name}" in listing, f"{name} missing from the boot partition"
    assert re.search(r"::/vmlinuz-\S+-arm64", listing) and re.search(r"::/initrd\.img-\S+-arm64", listing)
    for part, label in ((root, "LKROOT"), (data, "LKDATA")):
        dev = image_a.loop(part, readonly=True)
        info = run("blkid", "-p", "-o", "export", dev).stdout
        assert "TYPE=ext4" in info and f"LABEL={label}" in info
        fsck = run("e2fsck", "-f", "-n", dev, check=False)
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr


def test_boot_configuration(image_a: OpenedImage):
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    boot = image_a.partitions[0]
    config = run("mtype", "-i", f"{image_a.raw}@@{boot.start}", "::/config.txt", env=env).stdout
    cmdline = run("mtype", "-i", f"{image_a.raw}@@{boot.start}", "::/cmdline.txt", env=env).stdout
    assert "camera_auto_detect=1" in config and "dtparam=watchdog=on" in config
    assert "arm_64bit=1" in config
    assert "root=LABEL=LKROOT" in cmdline


# --- 3. nothing from the build machine, no per-kit secret ---------------------


def _build_machine_secrets() -> dict[str, str]:
    """Base64 bodies of this machine's private keys: none may appear in the image."""
    found = {}
    candidates = list(Path("/etc/ssh").glob("ssh_host_*_key")) + list(Path("/root/.ssh").glob("*"))
    for path in candidates:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        lines = [l for l in text.splitlines() if l and not l.startswith("-----")]
        if "PRIVATE KEY" in text and lines:
            found[str(path)] = max(lines, key=len)  # one long base64 line is unique enough
        elif path.name in ("authorized_keys", "known_hosts", "id_ed25519.pub", "id_rsa.pub") and lines:
            found[str(path)] = lines[0].split()[1] if len(lines[0].split()) > 1 else lines[0]
    return found


def test_image_holds_no_secrets(kit_a: MountedKit):
    root = kit_a.root
    assert not list((root / "etc/ssh").glob("ssh_host_*")), "SSH host keys baked into the image"
    assert (root / "etc/machine-id").read_text() == "", "machine-id must be empty so each kit makes its own"
    assert not (root / "var/lib/lessonkit/identity").exists()
    assert not (root / "var/lib/lessonkit/provisioned").exists()
    assert not (root / "root/.ssh").exists() and not (root / "home/kitadmin/.ssh").exists()
    for line in (root / "etc/shadow").read_text().splitlines():
        user, pw = line.split(":")[:2]
        assert pw in ("*", "!", "!*", "") or pw.startswith("!"), f"{user} has a usable password in the image"
    assert not list((root / "var/cache/apt/archives").glob("*.deb"))

    # Any private key anywhere in the image, and this machine's keys by content.
    secrets = _build_machine_secrets()
    private = run("grep", "-rlI", "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev",
                  # a PEM block's own line, not code that merely names the marker
                  "-E", "^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----$", str(root), check=False).stdout.split()
    assert private == [], f"private keys in the image: {private}"
    if secrets:
        pattern_file = kit_a.img.workdir / "build-machine-secrets.txt"
        pattern_file.write_text("\n".join(secrets.values()) + "\n")
        leaked = run("grep", "-rlF", "-f", str(pattern_file), str(root), check=False).stdout.split()
        pattern_file.unlink()
        assert leaked == [], f"build machine key material found in {leaked}"


# --- 4. systemd units -------------------------------------------------------


def test_units_verify(kit_a: MountedKit):
    res = run("systemd-analyze", "verify", f"--root={kit_a.root}", *OUR_UNITS, check=False)
    # Warnings about units we did not write (Debian's own) are not ours to fix.
    ours = [l for l in (res.stdout + res.stderr).splitlines() if "lessonkit" in l]
    assert res.returncode == 0 and not ours, res.stdout + res.stderr
    enabled = run("systemctl", f"--root={kit_a.root}", "is-enabled", *OUR_UNITS, check=False).stdout.split()
    assert enabled == ["enabled"] * len(OUR_UNITS)
    unit = (kit_a.root / "etc/systemd/system/lessonkit.service").read_text()
    assert "Type=notify" in unit and "WatchdogSec=" in unit and "Restart=on-failure" in unit


# --- 5. first boot in the image --------------------------------------------


def provision(kit: MountedKit) -> dict:
    if not kit.api_mounts:
        kit.mount_api()
    res = kit.chroot("/opt/lessonkit/venv/bin/kit", "firstboot", check=False, timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr
    root = kit.root
    ident = root / "var/lib/lessonkit/identity"
    hotspot = json.loads((ident / "hotspot.json").read_text())
    return {
        "kit_id": (ident / "kit-id").read_text().strip(),
        "passphrase": hotspot["passphrase"],
        "ssid": hotspot["ssid"],
        "host_ed25519": (root / "etc/ssh/ssh_host_ed25519_key").read_bytes(),
        "host_ecdsa": (root / "etc/ssh/ssh_host_ecdsa_key").read_bytes(),
        "sync_key": (ident / "sync_ed25519").read_bytes(),
        "sync_pub": (ident / "sync_ed25519.pub").read_bytes(),
    }


@pytest.fixture(scope="module")
def provisioned_a(kit_a: MountedKit) -> dict:
    return provision(kit_a)


def test_first_boot_in_chroot(kit_a: MountedKit, provisioned_a: dict):
    root = kit_a.root
    assert (root / "var/lib/lessonkit/provisioned").exists()
    nm = (root / "etc/NetworkManager/system-connections/lessonkit-hotspot.nmconnection").read_text()
    assert f"psk={provisioned_a['passphrase']}" in nm and "pairwise=ccmp" in nm
    assert "pmf=3" in nm and "ap-isolation=1" in nm
    label = (root / "boot/firmware/lessonkit-label.txt").read_text()
    assert provisioned_a["passphrase"] not in label  # the case label is what pupils read
    card = (root / "boot/firmware/lessonkit-teacher-card.txt").read_text()
    assert provisioned_a["ssid"] in card and provisioned_a["passphrase"] in card
    register = (root / "boot/firmware/lessonkit-register.txt").read_text()
    assert provisioned_a["sync_pub"].decode().split()[1] in register
    assert (root / "boot/firmware/lessonkit-wifi.svg").read_bytes().lstrip().startswith(b"<?xml")
    # The image's own sshd accepts the generated host keys and our keys-only config.
    (root / "run/sshd").mkdir(parents=True, exist_ok=True)  # made by ssh.service on a running kit
    sshd = kit_a.chroot("/usr/sbin/sshd", "-T", check=False)
    assert sshd.returncode == 0, sshd.stderr
    assert "passwordauthentication no" in sshd.stdout and "kbdinteractiveauthentication no" in sshd.stdout
    # Second run: nothing changes.
    again = kit_a.chroot("/opt/lessonkit/venv/bin/kit", "firstboot", timeout=600)
    assert provisioned_a["kit_id"] in again.stdout
    assert (root / "etc/ssh/ssh_host_ed25519_key").read_bytes() == provisioned_a["host_ed25519"]


# --- 6. the kit's page, served from inside the image ------------------------


def test_kit_run_simulate_serves_the_page(kit_a: MountedKit, provisioned_a: dict):
    helptext = kit_a.chroot("/opt/lessonkit/venv/bin/kit", "run", "--help", check=False, timeout=300)
    assert helptext.returncode == 0 and "--simulate" in helptext.stdout, (
        f"`kit run --help` failed inside the image (exit {helptext.returncode}):\n"
        f"{helptext.stdout[-2000:]}{helptext.stderr[-2000:]}")
    ports = []
    for _ in range(2):  # free ports: other tests on this machine may hold 8443/8080
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    port, http_port = ports
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/var/lib/lessonkit",
           "KIT_DATA": "/var/lib/lessonkit/data", "LESSONKIT_CONFIG": "/etc/lessonkit/kit.toml"}
    log = (kit_a.img.workdir / "kit-run.log").open("w")
    proc = subprocess.Popen(["chroot", str(kit_a.root), "/opt/lessonkit/venv/bin/kit", "run", "--simulate", "--demo",
                             "--port", str(port), "--http-port", str(http_port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300  # emulated arm64 starts slowly; bounded
        body, status = b"", None
        own_cert = kit_a.root / "var/lib/lessonkit/data/tls/self-signed.pem"
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                # The kit's own certificate, made inside the image on its first start, is what we trust.
                tls = ssl.create_default_context(cafile=str(own_cert))
                with urllib.request.urlopen(f"https://localhost:{port}/", timeout=10, context=tls) as resp:
                    status, body = resp.status, resp.read()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError, FileNotFoundError, ssl.SSLError):
                time.sleep(2)
        log.flush()
        output = (kit_a.img.workdir / "kit-run.log").read_text()
        assert status == 200, f"no page from kit run (exit {proc.poll()}):\n{output[-3000:]}"
        assert b"<html" in body.lower()
        assert b"Leskit" in body or b"Lesson kit" in body, body[:500]  # the kit's own page (nl or en)
        plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        plain.request("GET", "/unlock")
        redirect = plain.getresponse()
        assert redirect.status == 301 and redirect.getheader("Location").startswith("https://")
        assert redirect.getheader("Set-Cookie") is None and b"passphrase" not in redirect.read()
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        log.close()


# --- 7. two builds, two kits, nothing shared ---------------------------------


def test_two_builds_share_no_secret(provisioned_a: dict, kit_b: MountedKit):
    b = provision(kit_b)
    for key, value in provisioned_a.items():
        assert value != b[key], f"{key} is the same on two kits"
    assert len(provisioned_a["passphrase"]) >= 16
