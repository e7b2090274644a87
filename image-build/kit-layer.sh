#!/usr/bin/env bash
# The kit layer, identical on both bases: the kit's Python package in a venv,
# firmware-config/ installed where the system reads it, services enabled, and
# everything per-machine removed so that every card is made unique at first boot.
#
#   kit-layer.sh ROOT WHEEL_DIR REPO BASE VERSION
set -euo pipefail
main() {  # read whole before it runs: safe to edit this file during a build
ROOT="$1"; WHEELS="$2"; REPO="$3"; BASE="$4"; VERSION="$5"
FW="$REPO/firmware-config"
die() { echo "kit layer: $*" >&2; exit 1; }

in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
mount_api() {
  mount -t proc proc "$ROOT/proc"
  mount --bind /dev "$ROOT/dev"
  mount -t sysfs sys "$ROOT/sys"
}
umount_api() { umount -l "$ROOT/proc" "$ROOT/dev" "$ROOT/sys" 2>/dev/null || true; }
trap umount_api EXIT

# --- users: the service account and IT's admin account -----------------------
in_root groupadd --system lessonkit 2>/dev/null || true
in_root useradd --system --gid lessonkit --home-dir /var/lib/lessonkit --no-create-home \
  --shell /usr/sbin/nologin --groups video,audio lessonkit 2>/dev/null || true
# IT's account: no password until lessonkit.toml [admin] password_hash sets one;
# SSH only with keys ([admin] authorized_keys).
in_root useradd --create-home --shell /bin/bash --groups sudo,adm,systemd-journal kitadmin 2>/dev/null || true
in_root passwd --lock kitadmin >/dev/null

# --- the kit's Python package -------------------------------------------------
mount_api
cp -r "$WHEELS" "$ROOT/tmp/wheels"
in_root python3 -m venv --system-site-packages /opt/lessonkit/venv
# Offline: every wheel was fetched on the build host; Debian's python3-* packages
# are used where their versions satisfy the kit's requirements.
in_root /opt/lessonkit/venv/bin/pip install -q --no-index --find-links /tmp/wheels \
  --no-cache-dir --disable-pip-version-check lessonkit \
  || die "installing the kit into /opt/lessonkit/venv failed"
rm -rf "$ROOT/tmp/wheels"
# Libraries' own test suites are not run on a kit, and some carry throwaway
# private keys as test data (acme's testdata/*.pem) that IT's scan for key
# material in what it flashes must not have to explain away.
find "$ROOT/opt/lessonkit/venv/lib" -path '*/site-packages/*' -type d \
  \( -name tests -o -name testdata \) -prune -exec rm -rf {} +
in_root /opt/lessonkit/venv/bin/kit --version >/dev/null || die "kit command does not run inside the image"
umount_api

# --- firmware-config ----------------------------------------------------------
install -D -m 0644 -t "$ROOT/etc/systemd/system" "$FW"/systemd/system/*.service
install -D -m 0644 -t "$ROOT/etc/systemd/journald.conf.d" "$FW"/systemd/journald.conf.d/*.conf
install -D -m 0644 -t "$ROOT/etc/systemd/system.conf.d" "$FW"/systemd/system.conf.d/*.conf
install -D -m 0644 "$FW/NetworkManager/hotspot.nmconnection.in" "$ROOT/usr/share/lessonkit/hotspot.nmconnection.in"
install -D -m 0644 -t "$ROOT/etc/NetworkManager/dnsmasq-shared.d" "$FW"/NetworkManager/dnsmasq-shared.d/*.conf
install -D -m 0644 -t "$ROOT/etc/NetworkManager/conf.d" "$FW"/NetworkManager/conf.d/*.conf
if compgen -G "$FW/NetworkManager/dispatcher.d/*" >/dev/null; then
  install -D -m 0755 -t "$ROOT/etc/NetworkManager/dispatcher.d" "$FW"/NetworkManager/dispatcher.d/*
fi
install -D -m 0644 "$FW/nftables/lessonkit-captive.nft" "$ROOT/etc/lessonkit/captive.nft"
install -D -m 0644 -t "$ROOT/etc/ssh/sshd_config.d" "$FW"/ssh/sshd_config.d/*.conf
install -D -m 0644 -t "$ROOT/etc/udev/rules.d" "$FW"/udev/rules.d/*.rules
install -m 0644 "$FW/fstab" "$ROOT/etc/fstab"
install -D -m 0644 -t "$ROOT/etc/initramfs-tools/conf.d" "$FW"/initramfs-tools/conf.d/*.conf
install -D -m 0755 -t "$ROOT/etc/initramfs-tools/hooks" "$FW"/initramfs-tools/hooks/*
mkdir -p "$ROOT/boot/firmware" "$ROOT/var/lib/lessonkit"
install -D -m 0644 "$REPO/docs/architecture.md" "$ROOT/usr/share/doc/lessonkit/architecture.md"
echo "$VERSION" > "$ROOT/etc/lessonkit/version"
# IT's `kit ...` commands over SSH find the same data directory as the service.
grep -q '^KIT_DATA=' "$ROOT/etc/environment" 2>/dev/null || echo 'KIT_DATA=/var/lib/lessonkit/data' >> "$ROOT/etc/environment"
ln -sf /opt/lessonkit/venv/bin/kit "$ROOT/usr/local/bin/kit"

# --- boot partition: cmdline root by label, our config.txt fragment ------------
case "$BASE" in
  debian)
    sed -i 's/^#\?ROOTPART=.*/ROOTPART=LABEL=LKROOT/; s/^#\?CONSOLES=.*/CONSOLES="ttyS1,115200 tty0"/' "$ROOT/etc/default/raspi-firmware"
    install -m 0644 "$FW/boot/config.txt.fragment" "$ROOT/etc/default/raspi-firmware-custom"
    # Regenerate config.txt/cmdline.txt now that the settings are in place
    # (raspi-firmware wrote them once when the kernel was installed).
    mount_api
    kver="$(basename "$(ls -1 "$ROOT"/boot/vmlinuz-* | sort -V | tail -1)" | sed 's/^vmlinuz-//')"
    in_root env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware "$kver"
    umount_api
    ;;
  raspios)
    cat "$FW/boot/config.txt.fragment" >> "$ROOT/boot/firmware/config.txt"
    echo "console=serial0,115200 console=tty1 root=LABEL=LKROOT rootfstype=ext4 fsck.repair=yes rootwait" > "$ROOT/boot/firmware/cmdline.txt"
    ;;
esac
grep -q camera_auto_detect=1 "$ROOT/boot/firmware/config.txt" || die "config.txt lacks the kit's fragment"
grep -q 'root=LABEL=LKROOT' "$ROOT/boot/firmware/cmdline.txt" || die "cmdline.txt does not find root by label"

# --- services -----------------------------------------------------------------
systemctl --root="$ROOT" enable lessonkit-firstboot.service lessonkit.service lessonkit-captive.service \
  NetworkManager.service ssh.service systemd-timesyncd.service >/dev/null
# A unit file the sync area ships (if it has landed) is enabled the same way.
for unit in "$REPO"/firmware-config/systemd/system/lessonkit-sync*.{service,timer,path}; do
  [ -e "$unit" ] && systemctl --root="$ROOT" enable "$(basename "$unit")" >/dev/null
done
# No swap anywhere: plaintext footage in memory must never be paged to the card.
systemctl --root="$ROOT" mask swap.target >/dev/null

# --- make the image anonymous: every kit generates these at first boot --------
rm -f "$ROOT"/etc/ssh/ssh_host_*
: > "$ROOT/etc/machine-id"            # empty = "first boot" to systemd; a fresh id per kit
rm -f "$ROOT/var/lib/dbus/machine-id" "$ROOT/var/lib/systemd/random-seed"
rm -rf "$ROOT/root/.ssh" "$ROOT/home/kitadmin/.ssh" "$ROOT"/root/.*history "$ROOT/root/.cache"
rm -rf "$ROOT"/tmp/* "$ROOT"/var/tmp/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/lib/apt/lists/*
find "$ROOT/var/log" -type f -exec truncate -s 0 {} +
echo "lessonkit" > "$ROOT/etc/hostname"
echo "kit layer: done"
}; main "$@"; exit $?  # one line: nothing after it is read
