"""Image build time and size, as measured by the last ``make image-test``.

A full image build takes many minutes and needs root, so ``make bench`` does
not build one; ``make image-test`` measures the two builds it makes anyway and
calls ``python -m bench image`` to write this section from them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "build/image-test/measurements.json"
TARGET_BUILD_S = 25 * 60
TARGET_XZ_BYTES = 1 << 30


def run(quick: bool) -> str:
    path = Path(os.environ.get("LESSONKIT_IMAGE_MEASUREMENTS", DEFAULT))
    head = "## Image build (`make image-test`)\n\n"
    if not path.exists():
        return head + "Not measured in this run: `make image-test` (as root) builds the image and writes this section.\n"
    m = json.loads(path.read_text())
    mib = lambda n: f"{n / 1048576:.0f} MiB"  # noqa: E731
    rows = [
        (f"first build ({'base from cache' if m.get('first_base_from_cache') else 'base bootstrapped, .debs from cache'})", f"{m['first_build_s'] / 60:.1f} min", f"{m['first_build_s'] / TARGET_BUILD_S:.2f} × the 25 min target"),
        (f"second build ({'base from cache' if m.get('second_base_from_cache', True) else 'base bootstrapped'})", f"{m['second_build_s'] / 60:.1f} min", f"{m['second_build_s'] / max(m['first_build_s'], 1):.2f} × first build"),
        ("image checks (bmaptool, fsck, first boot ×2 and kit run under qemu-user)", f"{m['checks_s'] / 60:.1f} min", ""),
        ("whole `make image-test`", f"{m['total_s'] / 60:.1f} min", f"{m['total_s'] / 5400:.2f} × CI's 90 min"),
        ("compressed image (.img.xz)", mib(m["xz_bytes"]), f"{m['xz_bytes'] / TARGET_XZ_BYTES:.2f} × the 1 GiB target"),
        ("raw image (as flashed)", mib(m["raw_bytes"]), f"xz ratio {m['xz_bytes'] / m['raw_bytes']:.2f}"),
    ]
    # The latest `make image` (or other build.sh run) that bootstrapped its base, if newer
    # figures than image-test's are wanted for the from-scratch path.
    bootstraps = []
    for path in (ROOT / "build").glob("*/lessonkit-*.build.json"):
        b = json.loads(path.read_text())
        if not b.get("base_from_cache", False) and "image-test" not in str(path):
            bootstraps.append((path.stat().st_mtime, b))
    if bootstraps:
        b = max(bootstraps, key=lambda t: t[0])[1]
        rows.insert(0, ("`make image`, base bootstrapped with mmdebstrap (.debs cached)", f"{b['build_seconds'] / 60:.1f} min",
                        f"{b['build_seconds'] / TARGET_BUILD_S:.2f} × the 25 min target"))
    table = "| what | measured | ratio |\n|---|---|---|\n" + "".join(f"| {a} | {b} | {c} |\n" for a, b, c in rows)
    load = m.get("load_avg_15min")
    note = f" Load average over the last 15 minutes of the run: {load:.1f} (the 2 cores were shared)." if load else ""
    return head + f"Debian bookworm arm64 base, built on this machine (2 cores, arm64 under qemu-user).{note}\n\n" + table
