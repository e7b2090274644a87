#!/usr/bin/env bash
# `make image-test`: build the Debian-based image twice (the second from the
# package and base caches the first filled), then run the image checks in
# tests/image on both, and record the figures for BENCHMARKS.md.
set -euo pipefail
main() {  # read whole before it runs: safe to edit this file during a build
cd "$(dirname "$0")/../.."
OUT="${IMAGE_TEST_OUT:-build/image-test}"
PY=.venv/bin/python
rm -rf "$OUT"
mkdir -p "$OUT/a" "$OUT/b"
t0=$(date +%s)
FRESH="${IMAGE_TEST_FRESH_BASE:-1}"  # 0: reuse a cached base for build 1 too
echo "== image-test: build 1 of 2 ($([ "$FRESH" = 1 ] && echo "base bootstrapped afresh from the package cache" || echo "base from cache if there is one"))"
LESSONKIT_FRESH_BASE="$FRESH" image-build/build.sh --base debian --out "$OUT/a" 2>&1 | tee "$OUT/a/build.log"
t1=$(date +%s)
echo "== image-test: build 2 of 2 (from caches)"
image-build/build.sh --base debian --out "$OUT/b" 2>&1 | tee "$OUT/b/build.log"
t2=$(date +%s)
A="$(ls "$OUT"/a/lessonkit-*-arm64.img.xz)"
B="$(ls "$OUT"/b/lessonkit-*-arm64.img.xz)"
echo "== image-test: checks"
set +e
LESSONKIT_IMAGE_A="$PWD/$A" LESSONKIT_IMAGE_B="$PWD/$B" \
  $PY -m pytest tests/image -v -p no:cacheprovider -o addopts="-ra" --timeout 3600
rc=$?
set -e
t3=$(date +%s)
$PY - "$OUT" "$t0" "$t1" "$t2" "$t3" "$rc" <<'PYEOF'
import json, sys, glob
out, t0, t1, t2, t3, rc = sys.argv[1], *map(int, sys.argv[2:])
a = json.load(open(glob.glob(f"{out}/a/*.build.json")[0]))
b = json.load(open(glob.glob(f"{out}/b/*.build.json")[0]))
m = {"first_build_s": t1 - t0, "second_build_s": t2 - t1, "checks_s": t3 - t2, "total_s": t3 - t0,
     "xz_bytes": a["xz_bytes"], "raw_bytes": a["raw_bytes"], "checks_passed": rc == 0,
     "first_build_inner_s": a["build_seconds"], "second_build_inner_s": b["build_seconds"],
     "first_base_from_cache": a["base_from_cache"], "second_base_from_cache": b["base_from_cache"],
     "load_avg_15min": float(open("/proc/loadavg").read().split()[2])}
json.dump(m, open(f"{out}/measurements.json", "w"), indent=1)
print("== image-test: " + ", ".join(f"{k}={v}" for k, v in m.items()))
PYEOF
if [ "$rc" = 0 ]; then
  LESSONKIT_IMAGE_MEASUREMENTS="$OUT/measurements.json" $PY -m bench image >/dev/null || echo "(BENCHMARKS.md not updated)"
fi
exit "$rc"
}; main "$@"; exit $?  # one line: nothing after it is read
