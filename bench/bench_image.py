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
        (f"first build ({'base from cache' if m.get('first_base_from_cache') else 'base bootstrapped, .debs from cache'}"
         f"{', made before the boot test run, build.sh’s own time' if m.get('first_build_prebuilt') else ''})", f"{m['first_build_s'] / 60:.1f} min", f"{m['first_build_s'] / TARGET_BUILD_S:.2f} × the 25 min target"),
    ]
    if m.get("second_build_s"):
        rows.append((f"second build ({'base from cache' if m.get('second_base_from_cache', True) else 'base bootstrapped'})", f"{m['second_build_s'] / 60:.1f} min", f"{m['second_build_s'] / max(m['first_build_s'], 1):.2f} × first build"))
    if m.get("checks_passed") is not None:
        rows.append(("image checks (bmaptool, fsck, first boot ×2 and kit run under qemu-user)", f"{m['checks_s'] / 60:.1f} min", ""))
    if m.get("boot_test_s"):
        rows.append(("boot test (qemu-system-aarch64: every boot and power cut below)", f"{m['boot_test_s'] / 60:.1f} min", ""))
    rows += [
        ("whole run", f"{m['total_s'] / 60:.1f} min", f"{m['total_s'] / 5400:.2f} × CI's 90 min"),
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
        debs = "no .deb cached: every package downloaded" if b.get("debs_cached_before") == 0 else ".debs cached"
        rows.insert(0, (f"`make image`, base bootstrapped with mmdebstrap ({debs}, initramfs built "
                        f"{b.get('initramfs_builds', '?')}×)", f"{b['build_seconds'] / 60:.1f} min",
                        f"{b['build_seconds'] / TARGET_BUILD_S:.2f} × the 25 min target"))
    table = "| what | measured | ratio |\n|---|---|---|\n" + "".join(f"| {a} | {b} | {c} |\n" for a, b, c in rows)
    load = m.get("load_avg_15min")
    note = f" Load average over the last 15 minutes of the run: {load:.1f} (the 2 cores were shared)." if load else ""
    text = head + f"Debian bookworm arm64 base, built on this machine (2 cores, arm64 under qemu-user).{note}\n\n" + table
    return text + _boot_section(m.get("boot"))


def _boot_section(boot: dict | None) -> str:
    """Boot under full-system emulation against the same card's boot without the kit, same qemu, same run."""
    if not boot or "ready_vs_base" not in boot:
        return ""
    second, base, first = boot["second_boot"], boot["base_boot"], boot["first_boot"]
    rows = [
        ("first boot of a flashed card: the kit ready to record", f"{first['ready_us'] / 1e6:.0f} s",
         f"{first['ready_us'] / base['multi_user_us']:.2f} × the base's boot"),
        ("a normal boot: the kit ready to record (lessonkit.service READY=1)", f"{second['ready_us'] / 1e6:.0f} s",
         f"{boot['ready_vs_base']:.2f} × the base's boot"),
        ("reference: the same card with the kit's units masked, multi-user.target", f"{base['multi_user_us'] / 1e6:.0f} s", "1.00"),
    ]
    cuts = boot.get("power_cuts", [])
    text = ("\n### Booting the image (`make image-boot-test`)\n\n"
            "`qemu-system-aarch64 -M virt`, Cortex-A72, 2 vCPUs, 2 GiB, TCG on this machine's 2 cores (so an "
            "emulated second is many real ones: compare the ratios, not the seconds). Times are systemd's, from "
            "the kernel's start.\n\n| what | measured | ratio |\n|---|---|---|\n"
            + "".join(f"| {a} | {b} | {c} |\n" for a, b, c in rows))
    if cuts:
        text += ("\nPower cuts during first boot (seed " + str(boot.get("power_cut_seed")) + "): plug pulled at "
                 + ", ".join(f"{c['cut_at_s']:.0f} s" for c in cuts)
                 + " after power-on; each next boot finished provisioning with one identity.\n")
    if "recording_cut" in boot:
        r = boot["recording_cut"]
        text += (f"Power cut while recording: {r['sealed_before_cut']} media segments sealed before the cut, "
                 f"{r['kept']} kept, {r['seconds_playable']:.1f} s playable after the next boot.\n")
    return text
