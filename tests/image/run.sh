#!/usr/bin/env bash
# `make image-test`: build the Debian-based image twice (the second from the
# package and base caches the first filled), then run the image checks in
# tests/image on both, and record the figures for BENCHMARKS.md.
#
#   IMAGE_TEST_BOOT=1     also boot image 1 in qemu-system-aarch64 (tests/image/test_boot.py)
#   IMAGE_TEST_BOOT=only  `make image-boot-test`: one build, then only the boot test
#   IMAGE_TEST_IMAGE      an .img.xz build.sh made earlier (its .build.json beside it)
#                         to use as image 1 instead of building one
#   IMAGE_TEST_DEADLINE   (seconds since the epoch) CI's end: the stages after the boot
#                         test run only as far as the time left allows, and say so
#
# Each stage says when it starts and how it ended, so a log cut short (CI's
# time limit) still shows what was and was not checked.
set -euo pipefail
main() {  # read whole before it runs: safe to edit this file during a build
cd "$(dirname "$0")/../.."
OUT="${IMAGE_TEST_OUT:-build/image-test}"
PY=.venv/bin/python
BOOT="${IMAGE_TEST_BOOT:-0}"
rm -rf "$OUT"
mkdir -p "$OUT/a" "$OUT/b"
t0=$(date +%s)
FRESH="${IMAGE_TEST_FRESH_BASE:-1}"  # 0: reuse a cached base for build 1 too
[ "$BOOT" = only ] && FRESH="${IMAGE_TEST_FRESH_BASE:-0}"
if [ -n "${IMAGE_TEST_IMAGE:-}" ]; then
  echo "== image-test: image 1 is $IMAGE_TEST_IMAGE (not built here)"
  meta="${IMAGE_TEST_IMAGE%.img.xz}.build.json"
  [ -f "$IMAGE_TEST_IMAGE" ] && [ -f "$meta" ] || { echo "image-test: IMAGE_TEST_IMAGE needs an .img.xz and the .build.json build.sh wrote beside it ($meta)" >&2; exit 2; }
  cp "$IMAGE_TEST_IMAGE" "$meta" "$OUT/a/"
  for f in "${IMAGE_TEST_IMAGE%.xz}.bmap" "$IMAGE_TEST_IMAGE.sha256"; do [ -f "$f" ] && cp "$f" "$OUT/a/"; done
else
  echo "== image-test: build 1 ($([ "$FRESH" = 1 ] && echo "base bootstrapped afresh from the package cache" || echo "base from cache if there is one"))"
  LESSONKIT_FRESH_BASE="$FRESH" image-build/build.sh --base debian --out "$OUT/a" 2>&1 | tee "$OUT/a/build.log"
fi
t1=$(date +%s)
# What build 2 (from the caches) and the checks take, for a run with a deadline:
# build 1 itself when its base came from the cache, else about 8 minutes.
if grep -q '"base_from_cache": true' "$OUT"/a/*.build.json; then SECOND_BUILD_S=$(( t1 - t0 + 120 )); else SECOND_BUILD_S=480; fi
CHECKS_S=600
A="$(ls "$OUT"/a/lessonkit-*-arm64.img.xz)"
static_rc=skipped boot_rc=skipped
PYTEST=($PY -m pytest -v -p no:cacheprovider -o addopts="-ra" --timeout 5400)
# The boot test comes first: it is what a new machine's CI must not run out
# of time for. The second build and the checks of both images follow.
if [ "$BOOT" != 0 ]; then
  echo "== image-test: boot test of image 1 (qemu-system-aarch64: first boot, second boot, power cuts); report in $OUT/boot"
  set +e
  LESSONKIT_IMAGE_A="$PWD/$A" LESSONKIT_IMAGE_BOOT=1 LESSONKIT_BOOT_REPORT_DIR="$PWD/$OUT/boot" \
    LESSONKIT_BOOT_DEADLINE="${IMAGE_TEST_DEADLINE:-}" \
    "${PYTEST[@]}" tests/image/test_boot.py
  boot_rc=$?
  set -e
  [ -f "$OUT/boot/boot-report.txt" ] && { echo "== boot report ($OUT/boot/boot-report.txt)"; cat "$OUT/boot/boot-report.txt"; }
  echo "== image-test: boot test: $([ "$boot_rc" = 0 ] && echo passed || echo "FAILED (exit $boot_rc)")"
fi
t2=$(date +%s)
DEADLINE="${IMAGE_TEST_DEADLINE:-}"
left() { echo $(( DEADLINE - $(date +%s) )); }
SECOND_BUILD=1
if [ "$BOOT" != only ] && [ -n "$DEADLINE" ] && [ "$(left)" -lt $((SECOND_BUILD_S + CHECKS_S)) ]; then
  SECOND_BUILD=0
  echo "== image-test: build 2 NOT run: $(left)s left before the deadline, a second build and the checks take about $((SECOND_BUILD_S + CHECKS_S))s; the checks that compare two builds are skipped"
fi
if [ "$BOOT" != only ] && [ -n "$DEADLINE" ] && [ "$(left)" -lt "$CHECKS_S" ]; then
  static_rc=skipped
  echo "== image-test: checks of the image NOT run: $(left)s left before the deadline, they take about ${CHECKS_S}s"
elif [ "$BOOT" != only ] && [ "$SECOND_BUILD" = 0 ]; then
  t3=$(date +%s)
  echo "== image-test: checks of image 1 (partitions, secrets, units, first boot and kit run under qemu-user)"
  set +e
  LESSONKIT_IMAGE_A="$PWD/$A" "${PYTEST[@]}" tests/image --ignore=tests/image/test_boot.py
  static_rc=$?
  set -e
  echo "== image-test: checks of image 1: $([ "$static_rc" = 0 ] && echo passed || echo "FAILED (exit $static_rc)")"
elif [ "$BOOT" != only ]; then
  echo "== image-test: build 2 (from caches)"
  image-build/build.sh --base debian --out "$OUT/b" 2>&1 | tee "$OUT/b/build.log"
  t3=$(date +%s)
  B="$(ls "$OUT"/b/lessonkit-*-arm64.img.xz)"
  echo "== image-test: checks of both images (partitions, secrets, units, first boot and kit run under qemu-user)"
  set +e
  LESSONKIT_IMAGE_A="$PWD/$A" LESSONKIT_IMAGE_B="$PWD/$B" "${PYTEST[@]}" tests/image --ignore=tests/image/test_boot.py
  static_rc=$?
  set -e
  echo "== image-test: checks of both images: $([ "$static_rc" = 0 ] && echo passed || echo "FAILED (exit $static_rc)")"
fi
t3=${t3:-$t2}
t4=$(date +%s)
$PY - "$OUT" "$t0" "$t1" "$t2" "$t3" "$t4" "$static_rc" "$boot_rc" <<'PYEOF'
import json, sys, glob, os
out, t0, t1, t2, t3, t4 = sys.argv[1], *map(int, sys.argv[2:7])
static_rc, boot_rc = sys.argv[7:9]
a = json.load(open(glob.glob(f"{out}/a/*.build.json")[0]))
b_files = glob.glob(f"{out}/b/*.build.json")
b = json.load(open(b_files[0])) if b_files else None
prebuilt = bool(os.environ.get("IMAGE_TEST_IMAGE"))
m = {"first_build_s": a["build_seconds"] if prebuilt else t1 - t0, "first_build_prebuilt": prebuilt, "boot_test_s": t2 - t1 if boot_rc != "skipped" else None,
     "second_build_s": (t3 - t2) if b else None, "checks_s": t4 - t3, "total_s": t4 - t0,
     "xz_bytes": a["xz_bytes"], "raw_bytes": a["raw_bytes"],
     "checks_passed": static_rc == "0" if static_rc != "skipped" else None,
     "boot_passed": boot_rc == "0" if boot_rc != "skipped" else None,
     "first_build_inner_s": a["build_seconds"], "second_build_inner_s": b["build_seconds"] if b else None,
     "first_base_from_cache": a["base_from_cache"], "second_base_from_cache": b["base_from_cache"] if b else None,
     "initramfs_builds": a.get("initramfs_builds"),
     "load_avg_15min": float(open("/proc/loadavg").read().split()[2])}
boot = f"{out}/boot/boot.json"
if os.path.exists(boot):
    m["boot"] = json.load(open(boot))
json.dump(m, open(f"{out}/measurements.json", "w"), indent=1)
print("== image-test: " + ", ".join(f"{k}={v}" for k, v in m.items() if k != "boot"))
PYEOF
rc=0
for r in "$static_rc" "$boot_rc"; do
  [ "$r" = skipped ] || [ "$r" = 0 ] || rc=1
done
if [ "$rc" = 0 ]; then
  LESSONKIT_IMAGE_MEASUREMENTS="$OUT/measurements.json" $PY -m bench image >/dev/null || echo "(BENCHMARKS.md not updated)"
fi
echo "== image-test: checks of both images: $static_rc; boot test: $boot_rc (0 = passed)"
exit "$rc"
}; main "$@"; exit $?  # one line: nothing after it is read
