"""The system ``rsync`` over OpenSSH with the kit's key and the pinned host key.

Nothing here speaks SSH itself: we build an ``ssh`` command line that trusts
only ``DATA/sync/known_hosts`` (``StrictHostKeyChecking=yes``), offers only the
kit's key, reads no user or system ssh config, and gives up on a dead link
within seconds (``ServerAliveInterval``), and hand it to ``rsync -e``.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from appliance.errors import KitError

from .config import ServerConfig, SyncPaths

# rsync exit codes after which trying again later can succeed: the link or
# the peer went away mid-transfer (see rsync(1), EXIT VALUES).
RETRYABLE = {
    5: "could not start the transfer protocol",
    10: "socket I/O error",
    11: "file I/O error",
    12: "connection broken (protocol data stream error)",
    20: "interrupted",
    23: "partial transfer",
    24: "partial transfer (files vanished)",
    30: "timeout sending or receiving data",
    35: "timeout waiting for the connection",
    255: "ssh could not connect or the connection dropped",
}
_PROGRESS_RE = re.compile(r"^\s*([\d,]+)\s+(\d+)%")


class TransferFailed(KitError):
    def __init__(self, message: str, code: int, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


def _pinned_key_type(known_hosts: Path) -> str | None:
    try:
        for line in known_hosts.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and not line.startswith("#"):
                return fields[1]
    except OSError:
        pass
    return None


def ssh_command(paths: SyncPaths, server: ServerConfig) -> list[str]:
    alias = ["-o", f"HostKeyAlias={server.host_key_alias}"] if server.host_key_alias else []
    # Offer only what we use: a short key exchange list keeps a sync with
    # nothing new under 10 KB on the wire, and the only host key type worth
    # asking for is the one that is pinned.
    key_type = _pinned_key_type(server.known_hosts)
    pinned = ["-o", f"HostKeyAlgorithms={key_type}"] if key_type == "ssh-ed25519" else []
    return [
        "ssh", "-F", "/dev/null", "-i", str(server.key), "-p", str(server.port), "-l", server.user,
        "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={server.known_hosts}",
        "-o", "GlobalKnownHostsFile=/dev/null", *alias,
        "-o", "UpdateHostKeys=no", "-o", f"ConnectTimeout={server.timeout_s}",
        "-o", "ServerAliveInterval=3", "-o", "ServerAliveCountMax=3",
        "-o", "ForwardAgent=no", "-o", "ForwardX11=no", "-o", "ClearAllForwardings=yes",
        "-o", "KexAlgorithms=curve25519-sha256,curve25519-sha256@libssh.org",
        "-o", "Ciphers=chacha20-poly1305@openssh.com,aes256-gcm@openssh.com",
        "-o", "MACs=hmac-sha2-256-etm@openssh.com", *pinned,
        "-o", "LogLevel=ERROR",
    ]


def _classify(code: int, stderr: str) -> TransferFailed:
    tail = stderr.strip().splitlines()[-1][:200] if stderr.strip() else ""
    if code < 0:
        return TransferFailed(f"rsync was killed by signal {-code}", code, True)
    if "Host key verification failed" in stderr or "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr:
        return TransferFailed("the school server's host key does not match the pinned key; refusing to sync",
                              code, False)
    if "Permission denied (publickey" in stderr:
        return TransferFailed("the school server does not accept this kit's key (kit-server add-kit)", code, False)
    if code in RETRYABLE:
        return TransferFailed(f"rsync: {RETRYABLE[code]} (exit {code}){': ' + tail if tail else ''}", code, True)
    return TransferFailed(f"rsync failed (exit {code}){': ' + tail if tail else ''}", code, False)


@dataclass
class Transfer:
    """One rsync run; ``proc`` is exposed so tests can kill it mid-way."""

    args: list[str]
    on_progress: Callable[[int, int], None] | None = None
    proc: subprocess.Popen | None = None
    bytes_done: int = 0

    def run(self, timeout_s: float) -> None:
        with tempfile.TemporaryFile() as err:
            self.proc = subprocess.Popen(
                self.args, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                text=True, bufsize=1, start_new_session=True,
            )
            watchdog = threading.Timer(timeout_s, self._kill)
            watchdog.start()
            try:
                assert self.proc.stdout is not None
                for line in self._lines(self.proc.stdout):
                    match = _PROGRESS_RE.match(line)
                    if match:
                        self.bytes_done = int(match.group(1).replace(",", ""))
                        if self.on_progress:
                            self.on_progress(self.bytes_done, int(match.group(2)))
                code = self.proc.wait()
            finally:
                watchdog.cancel()
            err.seek(0)
            stderr = err.read().decode("utf-8", "replace")
        if code != 0:
            raise _classify(code, stderr)

    @staticmethod
    def _lines(stream):
        # Text mode reads universal newlines: progress2's "\r" updates arrive as lines.
        for line in stream:
            line = line.strip()
            if line:
                yield line

    def _kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)


def rsync_base(paths: SyncPaths, server: ServerConfig) -> list[str]:
    return [
        "rsync", "--timeout", str(server.timeout_s), "--info=progress2", "--no-motd",
        "-e", shlex.join(ssh_command(paths, server)),
    ]


def push(paths: SyncPaths, server: ServerConfig, files: list[Path],
         on_progress: Callable[[int, int], None] | None = None,
         on_transfer: Callable[[Transfer], None] | None = None) -> Transfer:
    """Deliver batch files into the kit's inbox; existing files are never touched."""
    with tempfile.NamedTemporaryFile("w", dir=paths.root, prefix=".push-", suffix=".list") as listing:
        listing.write("".join(f.name + "\n" for f in files))
        listing.flush()
        transfer = Transfer(
            rsync_base(paths, server) + [
                "--ignore-existing", "--compress", f"--files-from={listing.name}",
                str(paths.outgoing) + "/", f"{server.host}:",
            ],
            on_progress,
        )
        if on_transfer:
            on_transfer(transfer)
        transfer.run(timeout_s=server.timeout_s * 6 + len(files))
    return transfer


def pull(paths: SyncPaths, server: ServerConfig,
         on_transfer: Callable[[Transfer], None] | None = None) -> Transfer:
    """Fetch the kit's read-only roster directory into ``DATA/sync/incoming``."""
    transfer = Transfer(
        rsync_base(paths, server) + [
            # --checksum: the server can rewrite a small file (ack.json going
            # from 0 to 8) within the same second at the same size, which
            # rsync's size+mtime quick check would take as unchanged.
            "-r", "-t", "--checksum", "--max-size=4m", "--exclude=.*", f"{server.host}:", str(paths.incoming) + "/",
        ],
    )
    if on_transfer:
        on_transfer(transfer)
    transfer.run(timeout_s=server.timeout_s * 6)
    return transfer


def with_retries(action: Callable[[], Transfer], *, attempts: int = 4, base_delay: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep,
                 on_retry: Callable[[TransferFailed, int], None] | None = None) -> Transfer:
    """Run ``action`` again after a retryable failure, waiting 1, 2, 4… seconds."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except TransferFailed as exc:
            if not exc.retryable or attempt == attempts:
                raise
            if on_retry:
                on_retry(exc, attempt)
            sleep(base_delay * 2 ** (attempt - 1))
    raise AssertionError("unreachable")
