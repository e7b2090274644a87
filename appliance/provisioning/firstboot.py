"""First boot: turn a freshly flashed card into one unique, ready kit.

The run has three phases and can be cut at any instant (power cut, pulled
card) without leaving a half-provisioned kit:

1. **Generate** every secret and every file derived from it into
   ``STATE/identity.staging/``, each file fsynced, then *commit* with one
   atomic ``rename`` to ``STATE/identity/``. Before the rename nothing counts
   (a rerun throws the staging directory away and starts afresh); after it the
   kit's identity is fixed for life.
2. **Install** copies the committed files to where the system reads them
   (``/etc/ssh``, NetworkManager, ``/etc/hostname``, the label on the boot
   partition, …), each with an atomic replace. Re-running it after a cut
   writes the same bytes again.
3. **Grow** the data partition (idempotent), then write the done-marker
   ``STATE/provisioned``. Only the marker stops the next boot from running
   first boot again.

``ROOT`` is ``/`` on a kit; tests and the image check pass a directory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from appliance.provisioning import label, secrets
from appliance.provisioning.config import FILE_NAME, ProvisioningConfig, read_provisioning_file
from appliance.paths import KitPaths
from appliance.durable import fsync_dir, write_file
from appliance.tls import certs as tls_certs
from appliance.tls.store import self_signed_names

KIT_USER = "lessonkit"
ADMIN_USER = "kitadmin"  # IT's account: console password and SSH keys from lessonkit.toml
DONE_MARKER = "provisioned"
ERROR_FILE = "lessonkit-error.txt"
DEFAULT_TEMPLATE = Path("/usr/share/lessonkit/hotspot.nmconnection.in")
HOTSPOT_CONNECTION = "etc/NetworkManager/system-connections/lessonkit-hotspot.nmconnection"


@dataclass(frozen=True)
class Layout:
    """Where first boot reads and writes; every path is inside ``root`` except ``boot``."""

    root: Path
    boot: Path
    hotspot_template: Path = DEFAULT_TEMPLATE

    @classmethod
    def for_root(cls, root: Path, boot: Path | None = None, template: Path | None = None) -> "Layout":
        root = Path(root)
        return cls(root, Path(boot) if boot else root / "boot/firmware", Path(template) if template else root / str(DEFAULT_TEMPLATE).lstrip("/"))

    @property
    def state(self) -> Path:
        return self.root / "var/lib/lessonkit"

    @property
    def identity(self) -> Path:
        return self.state / "identity"

    @property
    def staging(self) -> Path:
        return self.state / "identity.staging"

    @property
    def marker(self) -> Path:
        return self.state / DONE_MARKER


# --- fault injection -------------------------------------------------------
# Tests prove "safe to interrupt" by killing the process (SIGKILL, no clean-up)
# right after the N-th durable step, for every N. Unset on a real kit.
_step_count = 0


def _checkpoint(name: str) -> None:
    global _step_count
    _step_count += 1
    trace = os.environ.get("LESSONKIT_FIRSTBOOT_TRACE")
    if trace:
        with open(trace, "a", encoding="utf-8") as fh:
            fh.write(name + "\n")
    fault = os.environ.get("LESSONKIT_FIRSTBOOT_KILL_AFTER")
    if fault and int(fault) == _step_count:
        os.kill(os.getpid(), signal.SIGKILL)


def _log(message: str) -> None:
    # Goes to the journal through the unit's stdout; never prints a secret.
    print(f"lessonkit-firstboot: {message}", flush=True)


# --- phase 1: generate ----------------------------------------------------


def _render_hotspot(template: Path, *, ssid: str, passphrase: str, country: str) -> str:
    text = template.read_text(encoding="utf-8")
    for key, value in {
        "@UUID@": str(uuid.uuid4()),
        "@SSID@": ssid,
        "@PSK@": passphrase,
        "@COUNTRY@": country,
    }.items():
        text = text.replace(key, value)
    return text


def _kit_toml(kit_id: str, cfg: ProvisioningConfig) -> str:
    lines = [
        "# Written once by first boot (lessonkit-firstboot.service); read by `kit run` and the sync agent.",
        "[kit]",
        f'id = "{kit_id}"',
        'data_dir = "/var/lib/lessonkit/data"',
        "",
        "[sync]",
        'key = "/var/lib/lessonkit/data/sync/id_ed25519"',
        'known_hosts = "/var/lib/lessonkit/ssh/known_hosts"',
    ]
    if cfg.server:
        lines += [f'server = "{cfg.server.host}"', f"port = {cfg.server.port}", f'user = "{cfg.server.user}"']
    return "\n".join(lines) + "\n"


def _put_card(put, kit_id: str, ssid: str, passphrase: str, fingerprint: str) -> None:
    card = label.TeacherCard(kit_id, ssid, passphrase, fingerprint)
    put(label.CARD_TEXT, card.text(), 0o600)
    put(label.CARD_HTML, card.html(), 0o600)
    put(label.LABEL_QR, label.wifi_qr_svg(ssid, passphrase), 0o600)
    put(label.PAGE_QR, label.page_qr_svg(card.url))


def _generate(layout: Layout, cfg: ProvisioningConfig) -> None:
    staging = layout.staging
    if staging.exists():
        shutil.rmtree(staging)  # a run cut before its commit: nothing of it counts
        _checkpoint("discard-staging")
    staging.mkdir(parents=True, mode=0o700)
    put = lambda name, data, mode=0o644: (write_file(staging / name, data, mode), _checkpoint(name))  # noqa: E731

    kit_id = secrets.new_kit_id()
    ssid = secrets.hotspot_ssid(kit_id)
    passphrase = secrets.new_hotspot_passphrase()
    put("kit-id", kit_id + "\n")
    put("hotspot.json", json.dumps({"ssid": ssid, "passphrase": passphrase, "country": cfg.hotspot_country}), 0o600)
    put("provisioning.json", json.dumps(asdict(cfg), sort_keys=True), 0o600)
    for kind, make in (("ed25519", secrets.new_ed25519_pair), ("ecdsa", secrets.new_ecdsa_pair)):
        private, public = make(f"root@{kit_id}")
        put(f"ssh_host_{kind}_key", private, 0o600)
        put(f"ssh_host_{kind}_key.pub", public)
    sync_private, sync_public = secrets.new_ed25519_pair(f"lessonkit-sync@{kit_id}")
    put("sync_ed25519", sync_private, 0o600)
    put("sync_ed25519.pub", sync_public)
    put(
        "lessonkit-hotspot.nmconnection",
        _render_hotspot(layout.hotspot_template, ssid=ssid, passphrase=passphrase, country=cfg.hotspot_country),
        0o600,
    )
    put("kit.toml", _kit_toml(kit_id, cfg))
    # The review page's TLS key: made here, it never leaves the kit.
    tls_key = tls_certs.new_key()
    put("tls-key.pem", tls_certs.key_pem(tls_key), 0o600)
    self_signed = tls_certs.self_signed(tls_key, *self_signed_names(kit_id))
    put("tls-self-signed.pem", self_signed)
    server = f"{cfg.server.user}@{cfg.server.host}:{cfg.server.port}" if cfg.server else None
    put(label.LABEL_TEXT, label.label_text(kit_id))
    put(label.REGISTER_TEXT, label.register_text(kit_id, sync_public.decode(), server))
    _put_card(put, kit_id, ssid, passphrase, tls_certs.describe(self_signed).fingerprint)
    fsync_dir(staging)

    os.replace(staging, layout.identity)  # the commit
    fsync_dir(layout.state)
    _checkpoint("commit")
    _log(f"generated identity for {kit_id}")


# --- phase 2: install -----------------------------------------------------


def _uid_gid(root: Path, user: str) -> tuple[int, int] | None:
    try:
        for line in (root / "etc/passwd").read_text(encoding="utf-8").splitlines():
            fields = line.split(":")
            if fields[0] == user and len(fields) > 3:
                return int(fields[2]), int(fields[3])
    except (OSError, ValueError):
        pass
    return None


def _set_password_hash(root: Path, user: str, password_hash: str) -> None:
    shadow = root / "etc/shadow"
    if not shadow.exists():
        _log(f"no /etc/shadow; admin password for {user} not set")
        return
    lines = shadow.read_text(encoding="utf-8").splitlines()
    changed = False
    for i, line in enumerate(lines):
        fields = line.split(":")
        if fields[0] == user and len(fields) >= 3:
            fields[1] = password_hash
            lines[i] = ":".join(fields)
            changed = True
    if not changed:
        _log(f"user {user} not in /etc/shadow; admin password not set")
        return
    write_file(shadow, "\n".join(lines) + "\n", 0o640)


def _install(layout: Layout) -> None:
    root, ident = layout.root, layout.identity
    copy = lambda src, dest, mode=0o644: (write_file(dest, (ident / src).read_bytes(), mode), _checkpoint(f"install {src}"))  # noqa: E731

    kit_id = (ident / "kit-id").read_text().strip()
    cfg = json.loads((ident / "provisioning.json").read_text())
    hotspot = json.loads((ident / "hotspot.json").read_text())

    for kind in ("ed25519", "ecdsa"):
        copy(f"ssh_host_{kind}_key", root / f"etc/ssh/ssh_host_{kind}_key", 0o600)
        copy(f"ssh_host_{kind}_key.pub", root / f"etc/ssh/ssh_host_{kind}_key.pub")
    copy("lessonkit-hotspot.nmconnection", root / HOTSPOT_CONNECTION, 0o600)
    copy("kit.toml", root / "etc/lessonkit/kit.toml")
    write_file(root / "etc/hostname", kit_id + "\n")
    write_file(
        root / "etc/modprobe.d/lessonkit-wifi-country.conf",
        "# Written by first boot from lessonkit.toml [hotspot] country: the radio must keep to\n"
        "# this country's Wi-Fi channels and power limits.\n"
        f"options cfg80211 ieee80211_regdom={hotspot['country']}\n",
    )
    _checkpoint("install system files")

    ssh_dir = layout.state / "ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    server = cfg.get("server")
    if server:
        from appliance.provisioning.config import SchoolServer

        write_file(ssh_dir / "known_hosts", SchoolServer(**server).known_hosts_line() + "\n")
    # The kit's data directory (`kit run`, `kit sync`: DATA) and the sync key
    # where the sync agent looks for it (DATA/sync/id_ed25519), so the key on
    # the label is the one sync uses.
    data = layout.state / "data"
    sync_dir = data / "sync"
    sync_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(sync_dir, 0o700)
    write_file(sync_dir / "id_ed25519", (ident / "sync_ed25519").read_bytes(), 0o600)
    write_file(sync_dir / "id_ed25519.pub", (ident / "sync_ed25519.pub").read_bytes())
    tls_dir = KitPaths(data).tls
    tls_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(tls_dir, 0o700)
    write_file(tls_dir / "key.pem", (ident / "tls-key.pem").read_bytes(), 0o600)
    write_file(tls_dir / "self-signed.pem", (ident / "tls-self-signed.pem").read_bytes())
    owner = _uid_gid(root, KIT_USER)
    if owner and os.geteuid() == 0:
        # The kit service runs as this user: it owns its data directory and
        # reads its sync key; the host keys and identity/ stay root's.
        for path in (data, sync_dir, sync_dir / "id_ed25519", sync_dir / "id_ed25519.pub", ssh_dir,
                     tls_dir, tls_dir / "key.pem", tls_dir / "self-signed.pem"):
            os.chown(path, *owner)
        if (ssh_dir / "known_hosts").exists():
            os.chown(ssh_dir / "known_hosts", *owner)
    os.chmod(ident, 0o750)
    _checkpoint("install kit state")

    if cfg.get("admin_password_hash"):
        _set_password_hash(root, ADMIN_USER, cfg["admin_password_hash"])
        _checkpoint("install admin password")
    if cfg.get("admin_authorized_keys"):
        home = root / "home" / ADMIN_USER
        keys_file = home / ".ssh/authorized_keys"
        write_file(keys_file, "".join(k + "\n" for k in cfg["admin_authorized_keys"]), 0o600)
        admin = _uid_gid(root, ADMIN_USER)
        if admin and os.geteuid() == 0:
            for path in (home / ".ssh", keys_file):
                os.chown(path, *admin)
        os.chmod(home / ".ssh", 0o700)
        _checkpoint("install admin ssh keys")

    for name in (label.LABEL_TEXT, label.REGISTER_TEXT, label.CARD_TEXT, label.CARD_HTML, label.LABEL_QR,
                 label.PAGE_QR):
        copy(name, layout.boot / name)
    applied = layout.boot / FILE_NAME
    if applied.exists():
        # Keep it for the record, but under a name first boot no longer reads.
        os.replace(applied, layout.boot / (FILE_NAME + ".applied"))
        fsync_dir(layout.boot)
        _checkpoint("retire provisioning file")


# --- phase 3: grow and finish ---------------------------------------------


def provision(layout: Layout, *, grow: bool = True) -> str:
    """Run first boot; return the kit id. Does nothing on a kit already provisioned."""
    if layout.marker.exists():
        kit_id = (layout.identity / "kit-id").read_text().strip()
        _log(f"already provisioned as {kit_id}")
        return kit_id
    layout.state.mkdir(parents=True, exist_ok=True)
    if not layout.identity.exists():
        # Read the provisioning file only before the commit: afterwards the
        # snapshot in identity/provisioning.json is what counts.
        _generate(layout, read_provisioning_file(layout.boot))
    _install(layout)
    if grow:
        from appliance.provisioning.grow import grow_data_partition

        grow_data_partition(layout.state)
        _checkpoint("grow")
    kit_id = (layout.identity / "kit-id").read_text().strip()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_file(layout.marker, f"{kit_id} {stamp}\n")
    _checkpoint("done")
    (layout.boot / ERROR_FILE).unlink(missing_ok=True)
    _log(f"kit {kit_id} provisioned")
    return kit_id


def report_error(layout: Layout, message: str) -> None:
    """Leave the reason on the boot partition, where IT looks when reading the card on a PC."""
    try:
        write_file(layout.boot / ERROR_FILE, f"First boot did not finish: {message}\nFix it and power the kit on again.\n")
    except OSError:
        pass
    print(f"lessonkit-firstboot: {message}", file=sys.stderr, flush=True)
