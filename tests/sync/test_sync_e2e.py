"""A kit and a school server over real ssh/rsync on loopback: the whole round trip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.errors import KitError
from sync import protocol
from sync.agent import export, sync_once
from sync.agent.config import SyncPaths
from sync.server import admin, db, ingest, publish

from synctest_helpers import RECIPIENT_C, RECIPIENT_T, add_people

pytestmark = pytest.mark.network
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def steady_disk(monkeypatch):
    """Other programs on this machine change its free space; a kit's health
    event would follow that, so the "nothing new" checks here use a disk
    that stays put (the sizes are still real numbers in the events)."""
    import collections
    from sync.agent import health

    usage = collections.namedtuple("usage", "total used free")(64 << 30, 16 << 30, 48 << 30)
    monkeypatch.setattr(health.shutil, "disk_usage", lambda path: usage)


def expected_events(catalogue) -> list[tuple[int, str, dict]]:
    """The kit's outbox as the allow-list lets it leave the kit."""
    out = []
    for row in catalogue.outbox(limit=10**9):
        data = protocol.filter_event(row["kind"], row["payload"])
        if data is not None:
            out.append((row["seq"], row["kind"], data))
    return out


def server_events(layout, kit_id) -> list[tuple[int, str, dict]]:
    conn = db.connect(layout.db)
    try:
        return [(r["seq"], r["kind"], json.loads(r["data"]))
                for r in conn.execute("SELECT seq, kind, data FROM events WHERE kit_id = ? ORDER BY seq", (kit_id,))]
    finally:
        conn.close()


def settle(kit, layout) -> None:
    """Sync and ingest until the server has applied everything the kit queued.

    Applying the roster queues events of its own, so one round is not always enough.
    """
    for _ in range(4):
        sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
        ingest.ingest(layout, [kit.kit_id])
        last = kit.catalogue.outbox(limit=10**9)[-1]["seq"]
        conn = db.connect(layout.db)
        applied = conn.execute("SELECT applied_through FROM kits WHERE id = ?", (kit.kit_id,)).fetchone()[0]
        conn.close()
        if applied == last:
            return
    raise AssertionError("server never caught up")


def received_bytes(layout) -> list[tuple[Path, bytes]]:
    """Every file the server holds that came from a kit (inbox, archive, quarantine)."""
    files = []
    for base in (layout.kits, layout.quarantine):
        for path in base.rglob("*"):
            if path.is_file() and "/roster/" not in str(path):
                files.append((path, path.read_bytes()))
    return files


def test_events_reach_the_server_and_the_roster_reaches_the_kit(make_kit, ssh_server):
    layout = ssh_server.layout
    kit = make_kit("kit-roster")
    teacher, coach = add_people(kit.catalogue)
    rec = kit.catalogue.create_recording(teacher["id"], coach["id"], [RECIPIENT_T, RECIPIENT_C])

    result = sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    assert result.batches_pushed == 1
    ingest.ingest(layout, ["kit-roster"])
    assert server_events(layout, "kit-roster") == expected_events(kit.catalogue)
    conn = db.connect(layout.db)
    assert conn.execute("SELECT state FROM recordings WHERE id = ?", (rec["id"],)).fetchone()[0] == "recording"
    assert json.loads(conn.execute("SELECT health FROM kits WHERE id = 'kit-roster'").fetchone()[0])["version"]
    conn.close()

    # The coordinator adds a coach with their public key, assigns, sets retention.
    new_coach = admin.add_person(layout, "Carla Peeters", "coach", "age1" + "z" * 58, "p-carla")
    admin.add_person(layout, teacher["name"], "teacher", RECIPIENT_T, teacher["id"])
    admin.assign(layout, "kit-roster", teacher["id"], new_coach)
    admin.set_setting(layout, "retention_days", "60")
    publish.publish(layout)
    result = sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    assert result.roster.people_added == 1 and result.roster.assignment_changed
    assert result.roster.settings_changed == ["retention_days"]
    assert result.acked_through == expected_events(kit.catalogue)[-1][0] or result.acked_through > 0
    assert kit.catalogue.get_person("p-carla")["recipient"] == "age1" + "z" * 58
    assert kit.catalogue.get_assignment()["coach"]["id"] == "p-carla"
    assert kit.catalogue.get_setting("retention_days") == 60

    # Applying the roster queued its own events; after that, a sync changes nothing.
    sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    ingest.ingest(layout, ["kit-roster"])
    sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    outbox_before = len(kit.catalogue.outbox(limit=10**9))
    result = sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    assert result.batches_pushed == 0 and result.roster.changes == 0
    assert len(kit.catalogue.outbox(limit=10**9)) == outbox_before
    assert server_events(layout, "kit-roster") == expected_events(kit.catalogue)


def test_a_hostile_roster_is_not_applied(make_kit, ssh_server):
    layout = ssh_server.layout
    kit = make_kit("kit-badroster")
    roster_dir = layout.roster("kit-badroster")
    (roster_dir / "roster.json").write_text(json.dumps({"version": 1, "people": [
        {"id": "../x", "name": "Evil", "role": "teacher", "recipient": RECIPIENT_T},
        {"id": "p-ok", "name": "Okay", "role": "admin", "recipient": RECIPIENT_T},
        {"id": "p-key", "name": "Key", "role": "coach", "recipient": "AGE-SECRET-KEY-1XYZ"}]}))
    (roster_dir / "settings.json").write_text(json.dumps({"version": 1, "settings": {
        "retention_days": -5, "shell": "rm -rf /"}}))
    result = sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    assert result.roster.changes == 0 and len(result.roster.skipped) == 5
    assert kit.catalogue.list_people() == []
    (roster_dir / "roster.json").write_text("{not json")
    with pytest.raises(KitError, match="roster.json from the server is not valid JSON"):
        sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    publish.publish(layout, ["kit-badroster"])


def _make_footage(data_dir: Path) -> None:
    """Real age files with real H.264 inside, and a real age identity, on the kit."""
    rec_dir = data_dir / "recordings" / "r-footage"
    rec_dir.mkdir(parents=True)
    mp4 = data_dir / "plain.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10",
                    "-t", "1", "-c:v", "libx264", "-movflags", "frag_keyframe+empty_moov", str(mp4)], check=True)
    key = data_dir / "identities" / "key.txt"
    key.parent.mkdir()
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    recipient = [l.split(": ")[1] for l in key.read_text().splitlines() if l.startswith("# public key")][0]
    subprocess.run(["age", "-r", recipient, "-o", str(rec_dir / "seg-000001.m4s.age"), str(mp4)], check=True)
    assert protocol.scan_forbidden(mp4.read_bytes())  # the scanner does see footage
    mp4.unlink()


@pytest.mark.skipif(not shutil.which("ffmpeg") or not shutil.which("age"), reason="needs ffmpeg and age (make deps)")
def test_nothing_but_metadata_reaches_the_server(make_kit, ssh_server):
    layout = ssh_server.layout
    kit = make_kit("kit-scan")
    _make_footage(kit.data_dir)
    secret = (kit.data_dir / "identities" / "key.txt").read_text().split("\n")[-2]
    assert secret.startswith("AGE-SECRET-KEY-")
    teacher, coach = add_people(kit.catalogue)
    kit.catalogue.create_recording(teacher["id"], coach["id"], [RECIPIENT_T, RECIPIENT_C])
    with kit.catalogue.transaction():
        # What a careless caller might queue; none of it may leave the kit.
        kit.catalogue.emit("annotation.saved", {"recording_id": "r-footage", "codes": 12})
        kit.catalogue.emit("thumbnail.made", {"recording_id": "r-footage", "jpeg": "ffd8ffe0"})
        kit.catalogue.emit("setting.changed", {"key": "x", "value": "copy of " + secret})
        kit.catalogue.emit("recording.finished", {"recording_id": "r-footage", "header": "age-encryption.org/v1"})
        kit.catalogue.emit("stats.lesson", {"recording_id": "r-footage", "counts": {"question_1": 3}})
        kit.catalogue.emit("stats.lesson", {"recording_id": "r-footage", "counts": {"question_1": 3},
                                            "opted_in": True})
    sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
    ingest.ingest(layout, ["kit-scan"])
    files = received_bytes(layout)
    assert any("kit-scan" in str(p) for p, _ in files)
    for path, data in files:
        assert protocol.scan_forbidden(data) == [], path
        assert secret.encode() not in data and b"codes" not in data and b"ffd8ffe0" not in data
    kinds = [k for _, k, _ in server_events(layout, "kit-scan")]
    assert "stats.lesson" in kinds and kinds.count("stats.lesson") == 1
    assert not {"annotation.saved", "thumbnail.made"} & set(kinds)


def test_an_interrupted_push_resumes_without_loss(make_kit, ssh_server):
    layout = ssh_server.layout
    kit = make_kit("kit-resume")
    with kit.catalogue.transaction():
        for i in range(3000):
            kit.catalogue.emit("recording.finished", {"recording_id": f"r-{i:05d}", "bytes": i, "state": "complete"})
    killed = []

    def kill_first(transfer):
        if not killed:
            killed.append(transfer)
            import threading
            threading.Timer(0.05, lambda: transfer.proc and transfer.proc.kill()).start()

    try:
        sync_once(kit.data_dir, kit.catalogue, on_transfer=kill_first, attempts=1)
    except KitError as exc:
        assert "killed" in str(exc) or "rsync" in str(exc)
    settle(kit, layout)
    assert server_events(layout, "kit-resume") == expected_events(kit.catalogue)


def test_batches_are_immutable_and_contiguous(tmp_path):
    from appliance.catalogue import Catalogue

    cat = Catalogue(tmp_path / "catalogue.db")
    paths = SyncPaths(tmp_path)
    with cat.transaction():
        for i in range(4500):
            cat.emit("recording.finished", {"recording_id": f"r{i}"})
    written = export.export(cat, paths)
    assert [p.name for p in written] == [protocol.batch_name(1, 2000), protocol.batch_name(2001, 4000),
                                         protocol.batch_name(4001, 4500)]
    first = written[0].read_bytes()
    assert export.export(cat, paths) == []
    # A lost state file does not make the exporter rewrite or re-cover a range.
    paths.state_file.unlink()
    with cat.transaction():
        cat.emit("bookmark.added", {"recording_id": "r1", "offset_s": 3.0})  # withheld, still covered
    assert [p.name for p in export.export(cat, paths)] == [protocol.batch_name(4501, 4501)]
    assert written[0].read_bytes() == first
    assert not list(paths.outgoing.glob(".*"))
    with pytest.raises(FileExistsError):
        from sync.agent.files import write_atomic
        write_atomic(written[0], b"other", exclusive=True)
    assert written[0].read_bytes() == first


def test_kit_sync_cli_status_and_once(make_kit, ssh_server):
    kit = make_kit("kit-cli")
    add_people(kit.catalogue)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kit_cmd = [sys.executable, "-m", "kit"]
    out = subprocess.run(kit_cmd + ["sync", "--once", "--data", str(kit.data_dir)],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "1 batches sent" in out.stdout
    out = subprocess.run(kit_cmd + ["sync", "--status", "--data", str(kit.data_dir)],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert "sent through #" in out.stdout and "batches waiting:   0" in out.stdout
    SyncPaths(kit.data_dir).server_file.write_text(json.dumps({"host": "127.0.0.1", "port": 1}))
    out = subprocess.run(kit_cmd + ["sync", "--once", "--attempts", "1", "--data", str(kit.data_dir)],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 1 and out.stderr.startswith("kit: rsync:") and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_kit_provisioned_by_first_boot_syncs_from_kit_toml(ssh_server, tmp_path, monkeypatch):
    """First boot writes /etc/lessonkit/kit.toml [sync] and a "[host]:port key" known_hosts."""
    from appliance.catalogue import Catalogue
    from sync.agent import config
    from sync.server import kits

    ident = tmp_path / "identity"
    ident.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ident / "sync_ed25519")], check=True)
    kits.add_kit(ssh_server.layout, "kit-firstboot", (ident / "sync_ed25519.pub").read_text())
    known = tmp_path / "known_hosts"
    known.write_text(f"[{ssh_server.address}]:{ssh_server.port} {ssh_server.host_key}\n")
    toml = tmp_path / "kit.toml"
    toml.write_text(f'[kit]\nid = "kit-firstboot"\n\n[sync]\nkey = "{ident / "sync_ed25519"}"\n'
                    f'known_hosts = "{known}"\nserver = "{ssh_server.address}"\nport = {ssh_server.port}\n'
                    f'user = "{ssh_server.user}"\n')
    monkeypatch.setenv("LESSONKIT_CONFIG", str(toml))
    data = tmp_path / "data"
    cat = Catalogue(data / "catalogue.db")
    add_people(cat)
    assert config.load(SyncPaths(data)).host_key_alias is None
    assert sync_once(data, cat, base_delay=0.01).batches_pushed == 1
    assert not SyncPaths(data).key.exists()  # the provisioned key was used, none was made

    class Kit:
        data_dir, catalogue, kit_id = data, cat, "kit-firstboot"

    settle(Kit, ssh_server.layout)
    assert server_events(ssh_server.layout, "kit-firstboot") == expected_events(cat)


def test_a_full_disk_stops_the_sync_with_one_line_and_loses_nothing(make_kit, ssh_server):
    kit = make_kit("kit-full")
    add_people(kit.catalogue)
    outgoing = SyncPaths(kit.data_dir).outgoing
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(outgoing)], check=True)
    try:
        with kit.catalogue.transaction():
            for i in range(3000):  # ~600 KB of batches: more than the card has left
                kit.catalogue.emit("recording.finished", {"recording_id": f"r-{i:06d}", "state": "complete"})
        with pytest.raises(KitError, match="^sync stopped: No space left on device$"):
            sync_once(kit.data_dir, kit.catalogue, base_delay=0.01)
        assert not list(outgoing.glob(".*")), "a half-written batch was left behind"
        assert SyncPaths(kit.data_dir).state_file.exists()
        # Space comes back (old batches pruned, footage deleted): the next sync finishes.
        subprocess.run(["mount", "-o", "remount,size=4m", str(outgoing)], check=True)
        settle(kit, ssh_server.layout)
        assert server_events(ssh_server.layout, "kit-full") == expected_events(kit.catalogue)
    finally:
        subprocess.run(["umount", "-l", str(outgoing)], check=False)
