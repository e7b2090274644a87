"""Growing the data partition, on a real (file-backed) disk with real growpart and resize2fs.

On the kit the data file system grows while mounted (online resize); this
container may not allow online resize (CAP_SYS_RESOURCE), so the file system
is grown unmounted here, the path grow_filesystem takes for an unmounted device.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from appliance.provisioning.grow import grow_data_partition, grow_filesystem, grow_partition

MiB = 1 << 20


def sh(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def _loop_usable() -> str | None:
    if os.geteuid() != 0:
        return "needs root for a loop device and mount"
    for tool in ("growpart", "sfdisk", "resize2fs", "losetup"):
        if not shutil.which(tool):
            return f"{tool} is not installed (make deps installs it)"
    return None


@pytest.mark.skipif(_loop_usable() is not None, reason=str(_loop_usable()))
def test_grows_the_last_partition_and_its_file_system(tmp_path: Path):
    card = tmp_path / "card.img"
    card.write_bytes(b"")
    os.truncate(card, 64 * MiB)
    subprocess.run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", str(card)],
                   input="label: dos\nstart=2048, size=16M, type=c\nstart=34816, size=24M, type=83\n",
                   text=True, check=True, capture_output=True)
    start = 34816 * 512
    sh("mkfs.ext4", "-q", "-L", "LKDATA", "-E", f"offset={start}", str(card), "24M")
    (tmp_path / "marker").write_text("footage stays")
    os.truncate(card, 256 * MiB)  # flashed onto a bigger card

    assert grow_partition(str(card), 2) is True
    assert grow_partition(str(card), 2) is False  # second boot: nothing to do
    part = json.loads(sh("sfdisk", "--json", str(card)))["partitiontable"]["partitions"][1]
    # growpart keeps the last few sectors free (room for a GPT backup header).
    assert 255 * MiB < (part["start"] + part["size"]) * 512 <= 256 * MiB

    loop = sh("losetup", "--find", "--show", "--offset", str(start), "--sizelimit", str(part["size"] * 512), str(card)).strip()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        sh("mount", "-t", "ext4", loop, str(mnt))
        (mnt / "keep.txt").write_text("recorded before the grow")
        sh("umount", str(mnt))
        grow_filesystem(loop)
        grow_filesystem(loop)  # idempotent
        sh("mount", "-t", "ext4", loop, str(mnt))
        try:
            stats = os.statvfs(mnt)
            assert stats.f_blocks * stats.f_frsize > 200 * MiB
            assert (mnt / "keep.txt").read_text() == "recorded before the grow"
            # Not a separate mount point: left alone, and said so.
            assert "not a separate mount" in grow_data_partition(tmp_path)
            assert "not a partition" in grow_data_partition(mnt)
        finally:
            sh("umount", str(mnt))
        fsck = subprocess.run(["e2fsck", "-f", "-n", loop], capture_output=True, text=True)
        assert fsck.returncode == 0, fsck.stdout
    finally:
        subprocess.run(["losetup", "-d", loop])
