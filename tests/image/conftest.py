"""Fixtures for the image checks: two built images, opened without booting them.

``make image-test`` builds two images and passes their paths in
``LESSONKIT_IMAGE_A`` / ``LESSONKIT_IMAGE_B``. The kernel here cannot mount FAT
and has no partition scanning on loop devices, so ext4 partitions are reached
through loop devices at an offset and the boot partition through mtools.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

IMAGE_A = os.environ.get("LESSONKIT_IMAGE_A")
IMAGE_B = os.environ.get("LESSONKIT_IMAGE_B")

needs_image = pytest.mark.skipif(
    not IMAGE_A, reason="needs built images: run `make image-test` (builds them, as root)"
)


def run(*cmd: str, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("check", True)
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(list(cmd), **kw)


@dataclass
class Partition:
    number: int
    start: int  # bytes
    size: int  # bytes
    type: str
    bootable: bool


@dataclass
class OpenedImage:
    """A raw copy of one image, its partitions, and (once mounted) its root tree."""

    xz: Path
    raw: Path
    workdir: Path
    partitions: list[Partition]
    loops: list[str] = field(default_factory=list)
    mounts: list[Path] = field(default_factory=list)

    @property
    def bmap(self) -> Path:
        return self.xz.with_suffix(".bmap")  # X.img.xz -> X.img.bmap

    def loop(self, part: Partition, readonly: bool = False) -> str:
        args = ["losetup", "--find", "--show", "--offset", str(part.start), "--sizelimit", str(part.size)]
        dev = run(*args, *(["--read-only"] if readonly else []), str(self.raw)).stdout.strip()
        self.loops.append(dev)
        return dev

    def mount(self, part: Partition, target: Path) -> None:
        dev = self.loop(part)
        target.mkdir(parents=True, exist_ok=True)
        run("mount", "-t", "ext4", dev, str(target))
        self.mounts.append(target)

    def close(self) -> None:
        for target in reversed(self.mounts):
            subprocess.run(["umount", "-l", str(target)], capture_output=True)
        for dev in self.loops:
            subprocess.run(["losetup", "-d", dev], capture_output=True)
        self.mounts.clear()
        self.loops.clear()


def open_image(xz: Path, workdir: Path) -> OpenedImage:
    """Flash the image the way IT does with bmaptool, onto a file instead of a card."""
    workdir.mkdir(parents=True, exist_ok=True)
    raw = workdir / "card.img"
    run("bmaptool", "-q", "copy", str(xz), str(raw))
    table = json.loads(run("sfdisk", "--json", str(raw)).stdout)["partitiontable"]
    sector = table.get("sectorsize", 512)
    parts = [
        Partition(i + 1, p["start"] * sector, p["size"] * sector, p["type"], bool(p.get("bootable")))
        for i, p in enumerate(table["partitions"])
    ]
    img = OpenedImage(Path(xz), raw, workdir, parts)
    img.table = table  # type: ignore[attr-defined]
    return img


class MountedKit:
    """The image's root with its data partition and boot files in place, ready to chroot into."""

    def __init__(self, img: OpenedImage):
        self.img = img
        self.root = img.workdir / "root"
        boot, rootp, data = img.partitions
        img.mount(rootp, self.root)
        img.mount(data, self.root / "var/lib/lessonkit")
        # FAT cannot be mounted here: copy the boot partition's files in, as first boot sees them.
        boot_dir = self.root / "boot/firmware"
        run("mcopy", "-s", "-p", "-n", "-i", f"{img.raw}@@{boot.start}", "::/*", str(boot_dir) + "/",
            env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
        self.api_mounts: list[Path] = []

    def mount_api(self) -> None:
        for src, dest, args in (("proc", "proc", ["-t", "proc"]), ("/dev", "dev", ["--bind"]), ("sys", "sys", ["-t", "sysfs"])):
            target = self.root / dest
            run("mount", *args, src, str(target))
            self.api_mounts.append(target)

    def chroot(self, *cmd: str, **kw) -> subprocess.CompletedProcess:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
        return run("chroot", str(self.root), *cmd, env=env, **kw)

    def close(self) -> None:
        for target in reversed(self.api_mounts):
            subprocess.run(["umount", "-l", str(target)], capture_output=True)
        self.api_mounts.clear()


@pytest.fixture(scope="session")
def image_a(tmp_path_factory) -> OpenedImage:
    if not IMAGE_A:
        pytest.skip("needs built images: run `make image-test`")
    img = open_image(Path(IMAGE_A), tmp_path_factory.mktemp("image-a"))
    yield img
    img.close()
    shutil.rmtree(img.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def image_b(tmp_path_factory) -> OpenedImage:
    if not IMAGE_B:
        pytest.skip("needs a second built image: run `make image-test`")
    img = open_image(Path(IMAGE_B), tmp_path_factory.mktemp("image-b"))
    yield img
    img.close()
    shutil.rmtree(img.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def kit_a(image_a) -> MountedKit:
    kit = MountedKit(image_a)
    yield kit
    kit.close()


@pytest.fixture(scope="session")
def kit_b(image_b) -> MountedKit:
    kit = MountedKit(image_b)
    yield kit
    kit.close()
