#!/usr/bin/env bash
# Build the Lesson kit SD-card image: lessonkit-<version>-arm64.img.xz + .sha256 + .bmap
#
#   image-build/build.sh [--base debian|raspios] [--out DIR] [--version V]
#
# Two bases, one kit layer (image-build/kit-layer.sh):
#   debian   Debian bookworm arm64 from Debian's archive, raspi-firmware +
#            linux-image-arm64 (boots a Pi 4); simulated camera.
#   raspios  Raspberry Pi OS Lite bookworm arm64 (Debian + the Raspberry Pi
#            archive), python3-picamera2 for the real camera. Needs
#            archive.raspberrypi.com; fails within seconds when it is unreachable.
#
# Runs as root (mmdebstrap --mode=root, loop-free image assembly). Foreign
# arm64 binaries run through qemu-user-static + binfmt_misc.
#
# Caches (LESSONKIT_IMAGE_CACHE, default ~/.cache/lessonkit-image):
#   debs/    every .deb downloaded, reused by the next build (no re-download)
#   wheels/  arm64 wheels of the kit's PyPI dependencies
#   base-*.tar  the bootstrapped base system, keyed by a hash of everything
#               that goes into it; set LESSONKIT_FRESH_BASE=1 to ignore it
# Nothing in the caches is per-kit: keys and passphrases are made at first boot.
set -euo pipefail
# The whole script is one function, read by bash before it starts: editing
# this file during a build cannot change the build under way.
main() {

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
BASE=debian
OUT="$REPO/build/image"
VERSION=""
CACHE="${LESSONKIT_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lessonkit-image}"
SUITE=bookworm
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
RPI_MIRROR="${RPI_MIRROR:-http://archive.raspberrypi.com/debian}"
DATA_MB=256     # grown to fill the card at first boot
BOOT_MB=256

while [ $# -gt 0 ]; do
  case "$1" in
    --base) BASE="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --version) VERSION="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

die() { echo "image build: $*" >&2; exit 1; }
T0=$(date +%s)
step() { echo "[$(( $(date +%s) - T0 ))s] $*"; }

[ -n "$VERSION" ] || VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml" | head -1)"
NAME="lessonkit-${VERSION}-arm64"
[ "$BASE" = debian ] || [ "$BASE" = raspios ] || die "--base must be debian or raspios, not '$BASE'"

# --- preflight: fail in seconds, not after half an hour -----------------------
step "preflight ($BASE base)"
reach() { curl -fsS --max-time 15 -o /dev/null "$1/dists/$SUITE/InRelease"; }
if [ "$BASE" = raspios ]; then
  reach "$RPI_MIRROR" || die "the Raspberry Pi archive $RPI_MIRROR is unreachable from this machine. The production (raspios) image needs it for Raspberry Pi OS and python3-picamera2: build it on a machine with internet access (image-build/README.md), or build the Debian-based image with --base debian."
fi
[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap --mode=root and file ownership inside the image)"
for tool in mmdebstrap mkfs.ext4 mkfs.vfat mcopy sfdisk bmaptool xz curl; do
  command -v "$tool" >/dev/null || die "missing tool '$tool' (run: make image-deps)"
done
if ! [ -e /proc/sys/fs/binfmt_misc/status ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
fi
if ! [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  update-binfmts --enable qemu-aarch64 2>/dev/null || true
fi
if [ "$(uname -m)" != aarch64 ]; then
  arch-test arm64 >/dev/null 2>&1 || die "this machine cannot run arm64 programs: install qemu-user-static and binfmt-support, and allow binfmt_misc (in a container: --privileged)"
fi
reach "$DEBIAN_MIRROR" || die "Debian archive $DEBIAN_MIRROR is unreachable (set DEBIAN_MIRROR to a reachable mirror)"

mkdir -p "$OUT" "$CACHE/debs" "$CACHE/wheels"
WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/lessonkit-image.XXXXXX")"
cleanup() {
  for m in "$WORK/root/proc" "$WORK/root/sys" "$WORK/root/dev/pts" "$WORK/root/dev"; do
    mountpoint -q "$m" 2>/dev/null && umount -l "$m" || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- 1. the kit's Python: a wheel of this checkout + arm64 wheels of its deps ---
step "kit wheel and arm64 dependency wheels"
if [ -z "${PIP:-}" ]; then
  if [ -x "$REPO/.venv/bin/python" ]; then PIP="$REPO/.venv/bin/python -m pip"; else PIP="python3 -m pip"; fi
fi
mkdir -p "$WORK/wheels"
$PIP wheel -q --no-deps -w "$WORK/wheels" "$REPO" > "$WORK/wheel.log" 2>&1 \
  || { cat "$WORK/wheel.log" >&2; die "cannot build the kit's wheel from $REPO"; }
# Dependencies the image's Debian packages do not satisfy come from PyPI as
# manylinux aarch64 wheels, fetched here (fast, cached) instead of pip running
# under emulation. Debian bookworm is Python 3.11.
DEPS="$(python3 - "$REPO/pyproject.toml" <<'EOF'
import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))
EOF
)"
mapfile -t DEP_ARRAY <<<"$DEPS"
# Markers such as platform_machine are judged on this (x86) build host by pip
# download, so the aarch64-only pin library is asked for by name.
DEP_ARRAY+=(lgpio)
$PIP download -q --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
  --platform manylinux_2_34_aarch64 --platform manylinux_2_28_aarch64 --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 \
  --platform linux_aarch64 -d "$CACHE/wheels" "${DEP_ARRAY[@]}" 2>&1 | grep -v "^WARNING: Location" || true
cp "$CACHE/wheels"/*.whl "$WORK/wheels/"

# --- 2. base system (cached as a tarball keyed by its inputs) -----------------
PACKAGES="$(grep -hv '^\s*#' "$HERE/packages-common.txt" "$HERE/packages-$BASE.txt" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')"
COMPONENTS="main non-free-firmware"
SOURCES=("deb [arch=arm64] $DEBIAN_MIRROR $SUITE main non-free-firmware"
         "deb [arch=arm64] $DEBIAN_MIRROR $SUITE-updates main non-free-firmware"
         "deb [arch=arm64] ${DEBIAN_SECURITY:-http://deb.debian.org/debian-security} $SUITE-security main non-free-firmware")
if [ "$BASE" = raspios ]; then
  curl -fsS --max-time 60 "$RPI_MIRROR/raspberrypi.gpg.key" | gpg --dearmor > "$WORK/raspberrypi.gpg" \
    || die "cannot fetch the Raspberry Pi archive key from $RPI_MIRROR"
  SOURCES+=("deb [arch=arm64 signed-by=$WORK/raspberrypi.gpg] $RPI_MIRROR $SUITE main")
fi
# Bump BASE_RECIPE when the mmdebstrap call below changes in a way the key does not see.
BASE_RECIPE=2
INITRAMFS_CONF="$REPO/firmware-config/initramfs-tools"
BASE_KEY="$( { echo "$BASE_RECIPE $BASE $SUITE $PACKAGES"; printf '%s\n' "${SOURCES[@]}" | sed "s#$WORK#WORK#"; cat "$INITRAMFS_CONF"/*/*; } | sha256sum | cut -c1-16)"
BASE_TAR="$CACHE/base-$BASE-$BASE_KEY.tar"
mkdir -p "$WORK/root"
if [ -f "$BASE_TAR" ] && [ "${LESSONKIT_FRESH_BASE:-0}" != 1 ]; then
  BASE_FROM_CACHE=true
  INITRAMFS_BUILDS=0
  DEBS_BEFORE=-1
  step "base system from cache ($(basename "$BASE_TAR"))"
  tar -C "$WORK/root" --numeric-owner --xattrs --xattrs-include='*' -xpf "$BASE_TAR"
else
  BASE_FROM_CACHE=false
  DEBS_BEFORE=$(find "$CACHE/debs" -name '*.deb' | wc -l)
  step "bootstrapping $BASE $SUITE arm64 with mmdebstrap (packages cached in $CACHE/debs)"
  # The initramfs is built once, after every package is in: installing the
  # kernel would build one and the packages after it (udev, kmod, firmware)
  # trigger a rebuild, each minutes long under emulation. Until then
  # update-initramfs is diverted to a no-op.
  INITRAMFS_DEFER='chroot "$1" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.deferred --add /usr/sbin/update-initramfs && printf "#!/bin/sh\nexit 0\n" > "$1/usr/sbin/update-initramfs" && chmod 0755 "$1/usr/sbin/update-initramfs"'
  INITRAMFS_ONCE='rm -f "$1/usr/sbin/update-initramfs" && chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs && chroot "$1" update-initramfs -c -k all'
  mmdebstrap --mode=root --arch=arm64 --variant=minbase \
    --components="$COMPONENTS" --include="$PACKAGES" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --skip=download/empty --skip=essential/unlink \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in $CACHE/debs /var/cache/apt/archives/" \
    --essential-hook="mkdir -p \"\$1/etc/initramfs-tools\" && cp -r $INITRAMFS_CONF/conf.d $INITRAMFS_CONF/hooks \"\$1/etc/initramfs-tools/\"" \
    --essential-hook="$INITRAMFS_DEFER" \
    --customize-hook="$INITRAMFS_ONCE" \
    --customize-hook="sync-out /var/cache/apt/archives $CACHE/debs" \
    --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb "$1"/var/cache/apt/*.bin; rm -rf "$1"/var/lib/apt/lists/*' \
    "$SUITE" "$WORK/root" "${SOURCES[@]}" 2>&1 | tee "$WORK/mmdebstrap.log"
  INITRAMFS_BUILDS=$(grep -c "update-initramfs: Generating" "$WORK/mmdebstrap.log" || true)
  rm -f "$CACHE"/base-"$BASE"-*.tar
  tar -C "$WORK/root" --numeric-owner --xattrs --xattrs-include='*' -cf "$BASE_TAR.tmp" . && mv "$BASE_TAR.tmp" "$BASE_TAR"
fi

# --- 3. the kit layer (same for both bases) ----------------------------------
step "kit layer"
"$HERE/kit-layer.sh" "$WORK/root" "$WORK/wheels" "$REPO" "$BASE" "$VERSION"

# --- 4. file systems and the disk image, without loop devices ----------------
step "file systems"
ROOT="$WORK/root"
mkdir -p "$WORK/bootfs" "$WORK/datafs"
# The boot and data partitions get their own file systems; root keeps empty mount points.
cp -a "$ROOT/boot/firmware/." "$WORK/bootfs/"
find "$ROOT/boot/firmware" -mindepth 1 -delete
cp -a "$ROOT/var/lib/lessonkit/." "$WORK/datafs/"
find "$ROOT/var/lib/lessonkit" -mindepth 1 -delete
root_kb=$(du -sk --apparent-size "$ROOT" | cut -f1)
ROOT_MB=$(( root_kb / 1024 * 125 / 100 + 300 ))   # 25% + 300 MB headroom for updates
ROOT_MB=$(( (ROOT_MB + 3) / 4 * 4 ))               # keep the data partition 4 MiB-aligned too
SECTOR=512
BOOT_START=$(( 8 * 1024 * 1024 / SECTOR ))          # 8 MiB: aligned to SD erase blocks
BOOT_SECTORS=$(( BOOT_MB * 1024 * 1024 / SECTOR ))
ROOT_START=$(( BOOT_START + BOOT_SECTORS ))
ROOT_SECTORS=$(( ROOT_MB * 1024 * 1024 / SECTOR ))
DATA_START=$(( ROOT_START + ROOT_SECTORS ))
DATA_SECTORS=$(( DATA_MB * 1024 * 1024 / SECTOR ))
TOTAL=$(( DATA_START + DATA_SECTORS ))
SOURCE_DATE_EPOCH="$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || date +%s)"
export SOURCE_DATE_EPOCH

mkfs.vfat -n LKBOOT -F 32 -S $SECTOR -C "$WORK/boot.fs" $(( BOOT_MB * 1024 )) >/dev/null
MTOOLS_SKIP_CHECK=1 mcopy -s -p -m -i "$WORK/boot.fs" "$WORK/bootfs/"* ::/
# No lazy init: the kit should not spend its first minutes zeroing inode tables on the card.
E2OPTS=(-q -F -t ext4 -E lazy_itable_init=0,lazy_journal_init=0 -m 1)
truncate -s $(( ROOT_SECTORS * SECTOR )) "$WORK/root.fs"
mkfs.ext4 "${E2OPTS[@]}" -L LKROOT -d "$ROOT" "$WORK/root.fs"
truncate -s $(( DATA_SECTORS * SECTOR )) "$WORK/data.fs"
mkfs.ext4 "${E2OPTS[@]}" -m 0 -L LKDATA -d "$WORK/datafs" "$WORK/data.fs"

step "disk image"
IMG="$WORK/$NAME.img"
truncate -s $(( TOTAL * SECTOR )) "$IMG"
# MBR: what the Pi's boot ROM/EEPROM reads on every model; FAT32 LBA first.
sfdisk -q --no-reread --no-tell-kernel "$IMG" <<EOF
label: dos
label-id: 0x4c4b4954
start=$BOOT_START, size=$BOOT_SECTORS, type=c, bootable
start=$ROOT_START, size=$ROOT_SECTORS, type=83
start=$DATA_START, size=$DATA_SECTORS, type=83
EOF
dd if="$WORK/boot.fs" of="$IMG" bs=1M seek=$(( BOOT_START * SECTOR / 1048576 )) conv=notrunc,sparse status=none
dd if="$WORK/root.fs" of="$IMG" bs=1M seek=$(( ROOT_START * SECTOR / 1048576 )) conv=notrunc,sparse status=none
dd if="$WORK/data.fs" of="$IMG" bs=1M seek=$(( DATA_START * SECTOR / 1048576 )) conv=notrunc,sparse status=none
rm -f "$WORK/boot.fs" "$WORK/root.fs" "$WORK/data.fs"

step "bmap, xz, sha256"
# "bmaptool copy X.img.xz" finds X.img.bmap beside it by itself.
bmaptool -q create -o "$OUT/$NAME.img.bmap" "$IMG"
rm -f "$OUT/$NAME.img.xz"
xz -T0 -${XZ_LEVEL:-3} -c "$IMG" > "$OUT/$NAME.img.xz.tmp"
mv "$OUT/$NAME.img.xz.tmp" "$OUT/$NAME.img.xz"
(cd "$OUT" && sha256sum "$NAME.img.xz" > "$NAME.img.xz.sha256")

SECS=$(( $(date +%s) - T0 ))
SIZE=$(stat -c %s "$OUT/$NAME.img.xz")
RAW=$(stat -c %s "$IMG")
printf '{"base": "%s", "version": "%s", "build_seconds": %d, "xz_bytes": %d, "raw_bytes": %d, "base_from_cache": %s, "initramfs_builds": %d, "debs_cached_before": %d, "image": "%s"}\n' \
  "$BASE" "$VERSION" "$SECS" "$SIZE" "$RAW" "$BASE_FROM_CACHE" "$INITRAMFS_BUILDS" "$DEBS_BEFORE" "$OUT/$NAME.img.xz" > "$OUT/$NAME.build.json"
step "done: $OUT/$NAME.img.xz ($(( SIZE / 1048576 )) MiB compressed, $(( RAW / 1048576 )) MiB raw) in ${SECS}s"
}; main "$@"; exit $?  # one line: nothing after it is read
