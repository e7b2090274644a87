"""Size caps on a push, through a real sshd and the generated gate: a kit's
key cannot put a file over ``max_batch_bytes`` into its inbox, cannot lift
that limit, and cannot fill the inbox past its cap in one session or start a
session into a full inbox. A client lying about a file's length meets the
kernel's file-size limit the gate sets (shown with a stand-in for rrsync)."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from sync import protocol
from sync.agent import config, transport
from sync.agent.config import SyncPaths
from sync.server import ingest, kits
from tests.support import testbed

pytestmark = pytest.mark.network

MAX_FILE = 64 * 1024
INBOX_BYTES = 512 * 1024
INBOX_FILES = 20


@pytest.fixture(scope="module")
def capped_server():
    why = testbed.can_run()
    if why:
        pytest.skip(why)
    layout, base = testbed.make_server("lkit-caps-", max_batch_bytes=MAX_FILE)
    conf = layout.config()
    conf.update(inbox_max_bytes=INBOX_BYTES, inbox_max_files=INBOX_FILES)
    layout.config_file.write_text(json.dumps(conf))
    kits.write_gate(layout)
    server = testbed.SshServer(base, layout).start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def kit(capped_server, tmp_path):
    kit_id = testbed.random_name("kit-cap-")
    data_dir = tmp_path / kit_id
    testbed.provision_kit(data_dir, capped_server.layout, kit_id, capped_server)
    return kit_id, data_dir


def rsync(data_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    paths = SyncPaths(data_dir)
    server = config.load(paths)
    cmd = ["rsync", "--timeout=30", "-e", shlex.join(transport.ssh_command(paths, server)), *args,
           f"{server.host}:"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def inbox_files(layout, kit_id) -> dict[str, int]:
    return {p.name: p.lstat().st_size for p in layout.inbox(kit_id).iterdir()}


def test_a_file_over_the_limit_never_lands_and_the_rest_of_the_push_does(capped_server, kit, tmp_path):
    kit_id, data_dir = kit
    big, small = tmp_path / protocol.batch_name(1, 1), tmp_path / protocol.batch_name(2, 2)
    big.write_bytes(b"x" * (MAX_FILE + 1))
    small.write_bytes(b"y" * 100)
    result = rsync(data_dir, "--ignore-existing", str(big), str(small))
    assert result.returncode == 0, result.stderr
    assert inbox_files(capped_server.layout, kit_id) == {small.name: 100}


def test_the_client_cannot_lift_the_limit(capped_server, kit, tmp_path):
    kit_id, data_dir = kit
    big = tmp_path / protocol.batch_name(1, 1)
    big.write_bytes(b"x" * (MAX_FILE * 4))
    for flags in (["--max-size=1G"], ["--max-size=0"], ["--min-size=0", "--max-size=999999999"]):
        result = rsync(data_dir, *flags, str(big))
        assert result.returncode != 0
        assert "the server sets the file size limit" in result.stderr, result.stderr
    assert inbox_files(capped_server.layout, kit_id) == {}


def test_a_file_that_grows_after_it_was_announced_lands_with_the_announced_length(capped_server, kit, tmp_path):
    # rsync's receiver judges --max-size by the length in the file list; this
    # rsync's sender then sends no more than that, even when the file grew.
    kit_id, data_dir = kit
    slow, liar = tmp_path / protocol.batch_name(1, 1), tmp_path / protocol.batch_name(2, 2)
    slow.write_bytes(b"s" * 40_000)
    liar.write_bytes(b"l" * 1000)

    def grow():
        time.sleep(1.0)  # the file list (with 1000 bytes) has gone; the slow file is on its way
        with open(liar, "ab") as fh:
            fh.write(b"L" * (1024 * 1024))

    grower = threading.Thread(target=grow)
    grower.start()
    rsync(data_dir, "--bwlimit=20", "--whole-file", str(slow), str(liar))
    grower.join()
    assert inbox_files(capped_server.layout, kit_id) == {slow.name: 40_000, liar.name: 1000}


STUB = """#!/bin/sh
# stands in for rrsync: report what the gate handed over, then write too much
echo "limit=$(ulimit -f) args=$* command=$SSH_ORIGINAL_COMMAND"
head -c %d /dev/zero > "$OUT"
"""


def test_the_gate_gives_the_kernel_the_file_size_limit(capped_server, tmp_path):
    # A modified rsync client can announce one length and send more; what
    # stops it is the kernel (RLIMIT_FSIZE) on everything the gate starts.
    layout = capped_server.layout
    stub = tmp_path / "rrsync-stub"
    stub.write_text(STUB % (10 * MAX_FILE))
    stub.chmod(0o755)
    gate = tmp_path / "kit-gate"
    gate.write_text(layout.gate.read_text().replace(layout.config()["rrsync"], str(stub)))
    gate.chmod(0o755)
    (layout.inbox("kit-stub")).mkdir(parents=True, exist_ok=True)
    out = tmp_path / "written"
    result = subprocess.run(
        [str(gate), "kit-stub"], capture_output=True, text=True, timeout=30,
        env={"PATH": "/usr/bin:/bin", "OUT": str(out),
             "SSH_ORIGINAL_COMMAND": "rsync --server -logDtpre.iLsfxCIvu --ignore-existing . ."})
    assert f"limit={MAX_FILE // 512}" in result.stdout
    assert f"command=rsync --server --max-size={MAX_FILE} -logDtpre" in result.stdout
    assert "args=-wo -no-del -no-overwrite -no-lock" in result.stdout
    assert out.stat().st_size == MAX_FILE  # the write beyond it failed (SIGXFSZ)
    assert result.returncode == 128 + 25 or result.returncode < 0


def test_a_full_inbox_refuses_the_push_until_ingest_has_run(capped_server, kit, tmp_path):
    kit_id, data_dir = kit
    layout = capped_server.layout
    for i in range(INBOX_FILES):  # what earlier sessions left: junk the gate cannot tell from batches
        (layout.inbox(kit_id) / f"junk-{i:02d}").write_bytes(b"j")
    batch = tmp_path / protocol.batch_name(1, 1)
    batch.write_bytes(protocol.encode_batch(1, 1, [], "t"))
    result = rsync(data_dir, str(batch))
    assert result.returncode != 0 and "kit-gate: inbox full" in result.stderr, result.stderr
    assert batch.name not in inbox_files(layout, kit_id)
    report = ingest.ingest(layout, [kit_id])[kit_id]
    assert len(report.quarantined) == INBOX_FILES
    assert rsync(data_dir, str(batch)).returncode == 0
    assert ingest.ingest(layout, [kit_id])[kit_id].applied == [batch.name]


def test_one_session_cannot_fill_the_inbox_past_its_cap(capped_server, kit, tmp_path):
    kit_id, data_dir = kit
    source = tmp_path / "many"
    source.mkdir()
    for i in range(1, 41):  # 40 files of 60 KB: 2.4 MB for an inbox of 512 KB
        (source / protocol.batch_name(i, i)).write_bytes(b"m" * 60_000)
    result = rsync(data_dir, "-r", "--bwlimit=400", str(source) + "/")
    landed = inbox_files(capped_server.layout, kit_id)
    assert result.returncode != 0
    # stopped within a poll of crossing the cap: at most a few files beyond it
    assert len(landed) < 40
    assert sum(landed.values()) <= INBOX_BYTES + 4 * 60_000, landed
