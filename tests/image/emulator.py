"""A kit in ``qemu-system-aarch64``: the flashed card, the image's own kernel, a real systemd.

The card is attached as USB storage behind an xHCI controller: the image's
initramfs carries USB storage (a Pi boots from a USB disk the same way) but
no virtio disk driver, and the test boots the initramfs the image ships, not
one made for the test. The kernel command line is the image's ``cmdline.txt``
with only the console moved to the emulated board's serial port.

Power is cut by killing qemu (SIGKILL): what the guest had not written out is
lost, as on a kit whose plug is pulled. A clean power-off goes through the
power button (``system_powerdown`` on qemu's monitor), as the kit's own button
would.

Nothing here knows what a kit should do; ``test_boot.py`` says that.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

QEMU = "qemu-system-aarch64"
MTOOLS_ENV = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class BootFiles:
    """The kernel, initramfs and command line the image's boot partition holds."""

    kernel: Path
    initrd: Path
    cmdline: str

    @classmethod
    def from_card(cls, raw: Path, boot_offset: int, into: Path) -> "BootFiles":
        into.mkdir(parents=True, exist_ok=True)
        image = f"{raw}@@{boot_offset}"
        listing = subprocess.run(["mdir", "-b", "-i", image, "::/"], env=MTOOLS_ENV, check=True,
                                 capture_output=True, text=True).stdout.split()
        kernel = sorted(n for n in listing if re.fullmatch(r"::/vmlinuz-\S+-arm64", n))[-1]
        initrd = sorted(n for n in listing if re.fullmatch(r"::/initrd\.img-\S+-arm64", n))[-1]
        for name in (kernel, initrd, "::/cmdline.txt"):
            subprocess.run(["mcopy", "-n", "-i", image, name, str(into) + "/"], env=MTOOLS_ENV, check=True)
        line = (into / "cmdline.txt").read_text().split()
        # The Pi's UART and HDMI console are not on the virt board; its PL011 is ttyAMA0.
        args = [a for a in line if not a.startswith("console=")] + ["console=ttyAMA0,115200"]
        return cls(into / kernel.removeprefix("::/"), into / initrd.removeprefix("::/"), " ".join(args))


def write_boot_file(raw: Path, boot_offset: int, name: str, text: str, workdir: Path) -> None:
    """Put a file on the card's FAT boot partition, as IT does on a laptop after flashing."""
    local = workdir / name
    local.write_text(text)
    subprocess.run(["mcopy", "-o", "-i", f"{raw}@@{boot_offset}", str(local), f"::/{name}"],
                   env=MTOOLS_ENV, check=True)


class EmulatedKit:
    """One power-on of a card in qemu. ``start()``, then ``power_off()`` or ``cut_power()``."""

    def __init__(self, disk: Path, boot: BootFiles, workdir: Path, *, name: str = "boot",
                 disk_format: str = "raw", memory_mb: int = 2048, cpus: int = 2,
                 extra_cmdline: str = ""):
        self.disk, self.boot, self.workdir, self.name = disk, boot, workdir, name
        self.disk_format, self.memory_mb, self.cpus = disk_format, memory_mb, cpus
        self.extra_cmdline = extra_cmdline
        self.console = workdir / f"{name}.console.log"
        self.monitor = workdir / f"{name}.monitor.sock"
        self.https_port = free_port()
        self.ssh_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        #: (seconds since power-on, line) for each console line, as it appeared
        self.lines: list[tuple[float, str]] = []

    def command(self) -> list[str]:
        fwd = f"hostfwd=tcp:127.0.0.1:{self.https_port}-:443,hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22"
        cmdline = self.boot.cmdline + (" " + self.extra_cmdline if self.extra_cmdline else "")
        return [
            QEMU, "-M", "virt", "-cpu", "cortex-a72", "-smp", str(self.cpus), "-m", str(self.memory_mb),
            # Each vCPU on its own host thread: the two cores here both work.
            "-accel", "tcg,thread=multi",
            "-kernel", str(self.boot.kernel), "-initrd", str(self.boot.initrd), "-append", cmdline,
            "-drive", f"if=none,id=card,file={self.disk},format={self.disk_format},cache=writeback",
            "-device", "qemu-xhci,id=xhci", "-device", "usb-storage,bus=xhci.0,drive=card",
            "-netdev", f"user,id=wired,{fwd}", "-device", "virtio-net-pci,netdev=wired,romfile=",  # no PXE ROM: the kernel is loaded directly
            "-device", "virtio-rng-pci",
            # A hardware watchdog for systemd's RuntimeWatchdogSec, as the Pi's is.
            "-device", "i6300esb", "-action", "watchdog=poweroff",
            "-display", "none", "-serial", f"file:{self.console}",
            "-monitor", f"unix:{self.monitor},server,nowait",
            "-no-reboot",
        ]

    def start(self) -> "EmulatedKit":
        self.console.unlink(missing_ok=True)
        self.monitor.unlink(missing_ok=True)
        log = (self.workdir / f"{self.name}.qemu.log").open("w")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        threading.Thread(target=self._watch_console, name=f"console-{self.name}", daemon=True).start()
        return self

    def _watch_console(self) -> None:
        # When each line appeared, on this machine's clock: systemd's status
        # lines carry no time of their own.
        seen = b""
        while True:
            alive = self.running()
            try:
                data = self.console.read_bytes()
            except FileNotFoundError:
                data = b""
            if len(data) > len(seen):
                now = self.elapsed
                complete = data[:data.rfind(b"\n") + 1]
                for raw in complete[len(seen):].splitlines():
                    self.lines.append((now, raw.decode(errors="replace").replace("\r", "")))
                seen = complete
            if not alive:
                return
            time.sleep(0.2)

    def first_seen(self, pattern: str) -> float | None:
        """Seconds after power-on at which a console line matching ``pattern`` appeared."""
        regex = re.compile(pattern)
        return next((at for at, line in list(self.lines) if regex.search(line)), None)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def console_text(self) -> str:
        try:
            return self.console.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_console(self, pattern: str, timeout: float) -> re.Match | None:
        """The first match of ``pattern`` on the serial console, or None if qemu stops or time runs out."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            found = regex.search(self.console_text())
            if found:
                return found
            if not self.running():
                return regex.search(self.console_text())
            time.sleep(0.5)
        return None

    def cut_power(self) -> None:
        """Pull the plug: no shutdown, nothing flushed that the guest had not written."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def power_off(self, timeout: float = 300) -> bool:
        """Press the power button; True if the kit shut down by itself within ``timeout``."""
        if not self.running():
            return False
        with socket.socket(socket.AF_UNIX) as mon:
            mon.connect(str(self.monitor))
            mon.sendall(b"system_powerdown\n")
            time.sleep(0.5)
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            self.cut_power()
            return False

    def close(self) -> None:
        self.cut_power()


class Ssh:
    """IT's way in: ``kitadmin`` with the key that lessonkit.toml authorised, over the wired port."""

    def __init__(self, kit: EmulatedKit, key: Path, known_hosts: Path, *, sudo_password: str | None = None):
        self.kit, self.key, self.known_hosts, self.sudo_password = kit, key, known_hosts, sudo_password

    def base(self, strict: bool) -> list[str]:
        return ["ssh", "-i", str(self.key), "-p", str(self.kit.ssh_port),
                "-o", f"UserKnownHostsFile={self.known_hosts}",
                # One name for the kit whatever port qemu forwards this time, so a
                # host key that changed between boots is refused.
                "-o", "HostKeyAlias=lessonkit-under-test",
                "-o", f"StrictHostKeyChecking={'yes' if strict else 'accept-new'}",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR",
                "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=8",
                "kitadmin@127.0.0.1"]

    def run(self, command: str, *, root: bool = False, timeout: float = 300, check: bool = True,
            strict: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        remote = command
        data = stdin
        if root:
            # sudo reads the password from the first line of stdin; the rest is the command's.
            remote = f"sudo -S -p '' sh -c {shlex.quote(command)}"
            data = f"{self.sudo_password}\n" + (stdin or "")
        res = subprocess.run([*self.base(strict), remote], input=data, capture_output=True, text=True,
                             timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"on the kit: {command}\nexit {res.returncode}\n{res.stdout[-3000:]}{res.stderr[-3000:]}")
        return res

    def wait(self, timeout: float, *, strict: bool = False) -> bool:
        """True once sshd answers with the kit's host key (first contact records it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.kit.running():
            try:
                if self.run("true", check=False, timeout=60, strict=strict).returncode == 0:
                    return True
            except subprocess.TimeoutExpired:
                pass
            time.sleep(3)
        return False
