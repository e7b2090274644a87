"""Growing the data partition to fill the SD card.

The image is small so it flashes fast; the card is larger. The data partition
is the last one on the card, so it can take all the space after it. Growing a
mounted ext4 file system forward is supported online, and both steps are
no-ops the second time, which keeps first boot safe to re-run.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from appliance.errors import KitError


class GrowError(KitError):
    """The data partition could not be grown."""


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True)


def mounted_device(mountpoint: Path) -> str | None:
    """The block device mounted exactly at ``mountpoint``, or None when it is no mount point."""
    res = _run(["findmnt", "-n", "-o", "SOURCE", "--mountpoint", str(mountpoint)])
    source = res.stdout.strip()
    return source if res.returncode == 0 and source.startswith("/dev/") else None


def disk_and_number(device: str) -> tuple[str, int]:
    """``/dev/mmcblk0p3`` -> (``/dev/mmcblk0``, 3), read from sysfs rather than guessed from the name."""
    name = Path(device).resolve().name
    sys_part = Path("/sys/class/block") / name
    try:
        number = int((sys_part / "partition").read_text())
    except (OSError, ValueError):
        raise GrowError(f"{device} is not a partition") from None
    disk = sys_part.resolve().parent.name
    return f"/dev/{disk}", number


def grow_partition(disk: str, number: int) -> bool:
    """Extend partition ``number`` of ``disk`` to the end of the disk; False when already there."""
    res = _run(["growpart", disk, str(number)])
    if res.returncode == 1 and "NOCHANGE" in res.stdout:
        return False
    if res.returncode != 0:
        raise GrowError(f"growpart {disk} {number} failed: {(res.stderr or res.stdout).strip().splitlines()[-1:]}")
    return True


def grow_filesystem(device: str) -> None:
    """Grow ext4 on ``device`` to fill it: online when mounted (the kit), else after a forced check."""
    mounted = _run(["findmnt", "-n", "--source", device]).returncode == 0
    if not mounted:
        check = _run(["e2fsck", "-f", "-p", device])
        if check.returncode > 1:  # 1 = errors corrected
            raise GrowError(f"e2fsck {device} found errors it could not fix; not resizing")
    res = _run(["resize2fs", device])
    if res.returncode != 0:
        raise GrowError(f"resize2fs {device} failed: {res.stderr.strip().splitlines()[-1:]}")


def grow_data_partition(mountpoint: Path) -> str:
    """Grow the partition mounted at ``mountpoint`` and its file system; say what happened."""
    device = mounted_device(Path(mountpoint))
    if device is None:
        message = f"{mountpoint} is not a separate mount; data partition left as it is"
        print(f"lessonkit-firstboot: {message}", flush=True)
        return message
    if not (Path("/sys/class/block") / Path(device).resolve().name / "partition").exists():
        # A file system on a whole device (the image check mounts the data
        # file system through a loop device): nothing to grow into.
        message = f"{device} is not a partition of a disk; data file system left as it is"
        print(f"lessonkit-firstboot: {message}", flush=True)
        return message
    disk, number = disk_and_number(device)
    grown = grow_partition(disk, number)
    grow_filesystem(device)
    message = f"data partition {device} {'grown' if grown else 'already fills the card'}"
    print(f"lessonkit-firstboot: {message}", flush=True)
    return message
