"""What a kit's key can do on the server: push to its inbox, pull its roster, nothing else.

Each test runs a real rsync/ssh with the kit's own key against a real sshd
and the generated authorized_keys, tries one thing it must not do and
checks both the refusal and that nothing on the server changed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from appliance.errors import KitError
from sync import protocol
from sync.agent import config, sync_once, transport
from sync.agent.config import SyncPaths

pytestmark = pytest.mark.network


def _ssh(kit) -> list[str]:
    paths = SyncPaths(kit.data_dir)
    return transport.ssh_command(paths, config.load(paths))


def rsync(kit, *args, host_path: str | None = None) -> subprocess.CompletedProcess:
    server = config.load(SyncPaths(kit.data_dir))
    cmd = ["rsync", "--timeout=20", "-e", shlex.join(_ssh(kit))]
    cmd += [a.replace("HOST:", f"{server.host}:") for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def snapshot(root: Path) -> dict[str, bytes]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith((".db-wal", ".db-shm", ".db")):
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


@pytest.fixture
def two_kits(make_kit, ssh_server, tmp_path):
    a, b = make_kit("kit-a"), make_kit("kit-b")
    for kit_id in ("kit-a", "kit-b"):  # the server lives for the whole module
        for leftover in ssh_server.layout.inbox(kit_id).iterdir():
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
    (ssh_server.layout.roster("kit-b") / "secret-of-b.json").write_text('{"b": 1}')
    (ssh_server.layout.inbox("kit-b") / protocol.batch_name(1, 1)).write_text("b's batch\n")
    return a, b


def test_a_kit_pushes_to_its_own_inbox_and_pulls_its_own_roster(two_kits, ssh_server, tmp_path):
    a, _ = two_kits
    f = tmp_path / protocol.batch_name(1, 1)
    f.write_text("mine\n")
    assert rsync(a, str(f), "HOST:").returncode == 0
    assert (ssh_server.layout.inbox("kit-a") / f.name).read_text() == "mine\n"
    dest = tmp_path / "pulled"
    assert rsync(a, "-r", "HOST:", str(dest) + "/").returncode == 0
    assert (dest / "roster.json").exists() and not (dest / "secret-of-b.json").exists()


@pytest.mark.parametrize("source", ["HOST:../../kit-b/roster/", "HOST:/../kit-b/roster/", "HOST:../kit-b/",
                                    "HOST:/etc/", "HOST:../inbox/", "HOST:../../../ssh/"])
def test_a_kit_cannot_read_outside_its_roster(two_kits, tmp_path, source):
    a, _ = two_kits
    dest = tmp_path / "stolen"
    dest.mkdir()
    result = rsync(a, "-r", source, str(dest) + "/")
    names = {p.name for p in dest.rglob("*")}
    assert "secret-of-b.json" not in names and "passwd" not in names and "authorized_keys" not in names
    assert protocol.batch_name(1, 1) not in names
    if result.returncode == 0:
        # rrsync maps ".." and "/" back inside the roster: what came is the kit's own roster
        assert names <= {"roster.json", "assignment.json", "settings.json", "ack.json"}, names
    else:
        assert "error" in result.stderr.lower() or "refus" in result.stderr.lower()


def test_a_kit_cannot_read_back_its_own_inbox(two_kits, ssh_server, tmp_path):
    a, _ = two_kits
    (ssh_server.layout.inbox("kit-a") / protocol.batch_name(1, 1)).write_text("x\n")
    # A pull always lands in the roster; there is no way to name the inbox.
    result = rsync(a, "-r", f"HOST:{ssh_server.layout.inbox('kit-a')}/", str(tmp_path / "back") + "/")
    assert not (tmp_path / "back" / protocol.batch_name(1, 1)).exists()
    assert result.returncode != 0


@pytest.mark.parametrize("target", ["HOST:../../kit-b/inbox/", "HOST:/../../kit-b/inbox/", "HOST:../roster/",
                                    "HOST:../../../ssh/", "HOST:/tmp/"])
def test_a_kit_cannot_write_outside_its_inbox(two_kits, ssh_server, tmp_path, target):
    a, _ = two_kits
    f = tmp_path / "authorized_keys"
    f.write_text("ssh-ed25519 AAAA attacker\n")
    before = snapshot(ssh_server.layout.root)
    result = rsync(a, str(f), target)
    after = snapshot(ssh_server.layout.root)
    changed = {k for k in after if before.get(k) != after[k]}
    # The only place a write may land is kit-a's own inbox.
    assert all(k.startswith("kits/kit-a/inbox/") for k in changed), (changed, result.stderr)
    assert not Path("/tmp/authorized_keys").exists() or Path("/tmp/authorized_keys").read_text() != f.read_text()


def test_a_kit_cannot_overwrite_a_file_it_already_sent(two_kits, ssh_server, tmp_path):
    a, _ = two_kits
    f = tmp_path / protocol.batch_name(1, 1)
    f.write_text("first version\n")
    assert rsync(a, str(f), "HOST:").returncode == 0
    f.write_text("a different, longer second version\n")
    for flags in ([], ["--ignore-times"], ["--checksum"], ["--inplace"], ["--append"]):
        rsync(a, *flags, str(f), "HOST:")
    assert (ssh_server.layout.inbox("kit-a") / f.name).read_text() == "first version\n"


def test_a_kit_cannot_delete_files(two_kits, ssh_server, tmp_path):
    a, _ = two_kits
    f = tmp_path / protocol.batch_name(1, 1)
    f.write_text("kept\n")
    assert rsync(a, str(f), "HOST:").returncode == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    result = rsync(a, "-r", "--delete", str(empty) + "/", "HOST:")
    assert result.returncode != 0 and "delete" in result.stderr.lower()
    rsync(a, "-r", "--delete-before", "--force", str(empty) + "/", "HOST:")
    assert (ssh_server.layout.inbox("kit-a") / f.name).read_text() == "kept\n"


def test_a_kit_cannot_escape_through_a_symlink(two_kits, ssh_server, tmp_path):
    a, _ = two_kits
    outside = Path(ssh_server.workdir) / "outside"
    outside.mkdir(exist_ok=True)
    os.chmod(outside, 0o777)
    src = tmp_path / "src"
    src.mkdir()
    (src / "door").symlink_to(outside)
    rsync(a, "-rl", str(src) + "/", "HOST:")
    (src / "door").unlink()
    (src / "door").mkdir()
    (src / "door" / "planted").write_text("x")
    rsync(a, "-rlK", str(src) + "/", "HOST:")
    rsync(a, "-rl", str(src) + "/", "HOST:")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("command", [["cat", "/etc/passwd"], ["sh", "-c", "id"], [],
                                     ["rsync", "--server", "--daemon", "."]])
def test_a_kit_key_gives_no_shell(two_kits, command):
    a, _ = two_kits
    server = config.load(SyncPaths(a.data_dir))
    result = subprocess.run(_ssh(a) + [server.host, *command], capture_output=True, text=True, timeout=30,
                            stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert "root:" not in result.stdout and "uid=" not in result.stdout


def test_a_kit_key_cannot_forward_ports(two_kits, ssh_server):
    a, _ = two_kits
    server = config.load(SyncPaths(a.data_dir))
    ssh = [arg for arg in _ssh(a) if arg != "ClearAllForwardings=yes"]
    ssh = [arg for i, arg in enumerate(ssh) if not (arg == "-o" and ssh[i + 1:i + 2] == ["-o"])]
    result = subprocess.run(ssh + ["-W", f"127.0.0.1:{ssh_server.port}", server.host], capture_output=True,
                            text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert "SSH-2.0" not in result.stdout
    assert any(m in result.stderr for m in ("prohibited", "disabled", "forwarding failed")), result.stderr


def test_a_wrong_server_host_key_stops_the_sync(make_kit, tmp_path):
    kit = make_kit("kit-pin")
    paths = SyncPaths(kit.data_dir)
    kh = paths.known_hosts.read_text().split()
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    paths.known_hosts.write_text(f"{kh[0]} {' '.join(other.with_suffix('.pub').read_text().split()[:2])}\n")
    kit.catalogue.set_setting("retention_days", 30)
    with pytest.raises(KitError, match="host key does not match"):
        sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)


def test_an_unknown_kit_key_is_refused(make_kit, ssh_server):
    kit = make_kit("kit-unknown")
    paths = SyncPaths(kit.data_dir)
    paths.key.unlink()
    Path(str(paths.key) + ".pub").unlink()
    config.ensure_key(paths)  # a new key the server never admitted
    kit.catalogue.set_setting("retention_days", 30)
    with pytest.raises(KitError, match="does not accept this kit's key"):
        sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
