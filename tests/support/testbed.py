"""A throwaway school server on this machine, for the tests and the benchmark.

A real OpenSSH ``sshd`` (run as root with its own config, host key and
``AuthorizedKeysFile`` pointing at a ``kit-server`` root) on a high port on
loopback or inside a network namespace, and the Unix user kits log in as.
Nothing here is used on a kit or a real server.
"""

from __future__ import annotations

import os
import pwd
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sync.agent import config as agent_config
from sync.agent.config import SyncPaths
from sync.server import kits
from sync.server.layout import Layout

SSH_USER = "lkitsync"
SSHD = "/usr/sbin/sshd"


def can_run() -> str | None:
    """Why the real-sshd setup cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root: sshd must run as root to log kits in as a separate user"
    for tool in (SSHD, "/usr/bin/rsync", "/usr/bin/rrsync", "/usr/bin/ssh", "/usr/bin/ssh-keygen"):
        if not os.path.exists(tool):
            return f"{tool} is missing (apt-get install openssh-server openssh-client rsync)"
    return None


def ensure_user(name: str = SSH_USER) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/", "--shell", "/bin/sh", name],
                       check=True)
    # "!" in shadow means locked, and sshd without PAM refuses locked accounts;
    # "*" still allows no password logins, only keys.
    subprocess.run(["usermod", "-p", "*", name], check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def public_dir(prefix: str) -> Path:
    """A directory the ssh user can traverse (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


@dataclass
class SshServer:
    workdir: Path
    layout: Layout
    user: str = SSH_USER
    address: str = "127.0.0.1"
    port: int = 0
    netns: str | None = None
    proc: subprocess.Popen | None = None
    host_key: str = ""
    extra: list[str] = field(default_factory=list)

    def start(self) -> "SshServer":
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.port = self.port or free_port()
        key = self.workdir / "ssh_host_ed25519_key"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        self.host_key = " ".join(Path(str(key) + ".pub").read_text().split()[:2])
        cfg = self.workdir / "sshd_config"
        cfg.write_text("\n".join([
            f"Port {self.port}", f"ListenAddress {self.address}", f"HostKey {key}",
            f"PidFile {self.workdir / 'sshd.pid'}", f"AuthorizedKeysFile {self.layout.authorized_keys}",
            f"AllowUsers {self.user}", "PubkeyAuthentication yes", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PermitRootLogin no", "UsePAM no",
            # /tmp is world-writable, which StrictModes refuses on the key file's path.
            "StrictModes no", "AllowTcpForwarding no", "AllowAgentForwarding no", "X11Forwarding no",
            "PermitTTY no", "ClientAliveInterval 3", "ClientAliveCountMax 2", "MaxStartups 200",
            "MaxSessions 20", "LogLevel VERBOSE", *self.extra, "",
        ]))
        cmd = [SSHD, "-D", "-e", "-f", str(cfg)]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        self.log = open(self.workdir / "sshd.log", "ab")
        # Its own process group, so that stop() also ends the per-connection
        # children a killed client may have left behind.
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"sshd exited: {(self.workdir / 'sshd.log').read_text()[-2000:]}")
            if b"Server listening" in (self.workdir / "sshd.log").read_bytes():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("sshd did not start listening")

    def stop(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()


def make_server(prefix: str = "lkit-srv-", max_batch_bytes: int | None = None) -> tuple[Layout, Path]:
    ensure_user()
    base = public_dir(prefix)
    layout = kits.init(base / "root", ssh_user=SSH_USER, max_batch_bytes=max_batch_bytes)
    return layout, base


def provision_kit(data_dir: Path, layout: Layout, kit_id: str, server: SshServer, host: str | None = None) -> str:
    """Give a kit data directory a key, admit it, and point it at ``server``."""
    paths = SyncPaths(Path(data_dir))
    pub = agent_config.ensure_key(paths)
    kits.add_kit(layout, kit_id, pub)
    agent_config.setup(paths, host or server.address, server.host_key, port=server.port, user=server.user)
    return pub


def random_name(prefix: str) -> str:
    return prefix + secrets.token_hex(3)


class NetnsLink:
    """Two network namespaces joined by a veth pair: "server" and "kit".

    ``plug()``/``unplug()`` set the kit's end up or down, which is what a
    cable going in or out looks like to the kit (carrier on its interface).
    """

    SERVER_IP = "10.231.0.1"
    KIT_IP = "10.231.0.2"

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.server_ns, self.kit_ns = f"lks-{tag}", f"lkk-{tag}"
        self.server_if, self.kit_if = f"lks{tag}", f"lkk{tag}"

    def _ip(self, *args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    def create(self, rate: str | None = None) -> "NetnsLink":
        self._ip("netns", "add", self.server_ns)
        self._ip("netns", "add", self.kit_ns)
        self._ip("link", "add", self.server_if, "netns", self.server_ns, "type", "veth",
                 "peer", "name", self.kit_if, "netns", self.kit_ns)
        self._ip("-n", self.server_ns, "addr", "add", f"{self.SERVER_IP}/30", "dev", self.server_if)
        self._ip("-n", self.kit_ns, "addr", "add", f"{self.KIT_IP}/30", "dev", self.kit_if)
        for ns in (self.server_ns, self.kit_ns):
            self._ip("-n", ns, "link", "set", "lo", "up")
        self._ip("-n", self.server_ns, "link", "set", self.server_if, "up")
        if rate:
            # a slow school network, so that interruptions land mid-transfer
            for ns, dev in ((self.server_ns, self.server_if), (self.kit_ns, self.kit_if)):
                subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf",
                                "rate", rate, "burst", "16kb", "latency", "200ms"], check=True)
        return self

    def plug(self) -> None:
        self._ip("-n", self.kit_ns, "link", "set", self.kit_if, "up")

    def unplug(self) -> None:
        self._ip("-n", self.kit_ns, "link", "set", self.kit_if, "down")

    def counters(self) -> tuple[int, int]:
        """(bytes sent, bytes received) on the kit's interface, headers included."""
        out = subprocess.run(["ip", "netns", "exec", self.kit_ns, "cat",
                              f"/sys/class/net/{self.kit_if}/statistics/tx_bytes",
                              f"/sys/class/net/{self.kit_if}/statistics/rx_bytes"],
                             check=True, capture_output=True, text=True).stdout.split()
        return int(out[0]), int(out[1])

    def in_kit(self, cmd: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.kit_ns, *cmd]

    def destroy(self) -> None:
        for ns in (self.kit_ns, self.server_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
