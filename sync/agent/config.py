"""Where the school server is and the kit's own sync key.

``DATA/sync/server.json`` names the server (written at provisioning from the
boot partition's file, or with ``kit sync --setup``); ``DATA/sync/known_hosts``
pins its host key; ``DATA/sync/id_ed25519`` is the kit's key, made once.
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import KitError

from .files import read_json, write_atomic, write_json

# ssh looks the pinned key up under this name, so the server's address or
# port may change without touching known_hosts.
HOST_ALIAS = "lessonkit-school-server"
# Written by first boot (appliance.provisioning): kit id, sync key, server.
KIT_TOML = Path("/etc/lessonkit/kit.toml")
_HOST_KEY_RE = re.compile(r"^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]{40,}$")


class NotConfigured(KitError):
    def __init__(self) -> None:
        super().__init__("sync is not set up: no school server configured (kit sync --setup HOST --host-key KEY)")


@dataclass(frozen=True)
class SyncPaths:
    data_dir: Path

    @property
    def root(self) -> Path:
        return self.data_dir / "sync"

    @property
    def outgoing(self) -> Path:
        return self.root / "outgoing"

    @property
    def incoming(self) -> Path:
        return self.root / "incoming"

    @property
    def key(self) -> Path:
        return self.root / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def server_file(self) -> Path:
        return self.root / "server.json"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def lock_file(self) -> Path:
        return self.root / "sync.lock"

    def ensure(self) -> None:
        for d in (self.root, self.outgoing, self.incoming):
            d.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)


@dataclass(frozen=True)
class ServerConfig:
    host: str
    key: Path
    known_hosts: Path
    port: int = 22
    user: str = "lessonkit"
    host_key_alias: str | None = HOST_ALIAS
    timeout_s: int = 20


def ensure_key(paths: SyncPaths) -> str:
    """The kit's public key line, making the ed25519 key pair on first use."""
    paths.ensure()
    if not paths.key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lessonkit", "-f", str(paths.key)],
            check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        )
    paths.key.chmod(0o600)
    return Path(str(paths.key) + ".pub").read_text().strip()


def setup(paths: SyncPaths, host: str, host_key: str, *, port: int = 22, user: str = "lessonkit") -> None:
    """Name the school server and pin its host key (``type base64``)."""
    host_key = " ".join(host_key.split()[:2])
    if not _HOST_KEY_RE.match(host_key):
        raise KitError("the server host key must look like 'ssh-ed25519 AAAA…'")
    if not re.fullmatch(r"[A-Za-z0-9.:_-]{1,253}", host):
        raise KitError(f"not a host name or address: {host!r}")
    paths.ensure()
    write_atomic(paths.known_hosts, f"{HOST_ALIAS} {host_key}\n".encode())
    write_json(paths.server_file, {"host": host, "port": int(port), "user": user})


def load(paths: SyncPaths) -> ServerConfig:
    """``DATA/sync/server.json`` if set up by hand, else first boot's ``kit.toml`` [sync]."""
    raw = read_json(paths.server_file)
    if raw and paths.known_hosts.exists():
        return ServerConfig(host=raw["host"], key=paths.key, known_hosts=paths.known_hosts,
                            port=int(raw.get("port", 22)), user=raw.get("user", "lessonkit"),
                            timeout_s=int(raw.get("timeout_s", 20)))
    provisioned = _from_kit_toml(Path(os.environ.get("LESSONKIT_CONFIG", KIT_TOML)))
    if provisioned is None:
        raise NotConfigured()
    return provisioned


def _from_kit_toml(path: Path) -> ServerConfig | None:
    try:
        sync = tomllib.loads(path.read_text()).get("sync", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None
    if not sync.get("server") or not sync.get("key") or not sync.get("known_hosts"):
        return None
    # first boot writes known_hosts as "[host]:port key", so no alias here
    return ServerConfig(host=sync["server"], key=Path(sync["key"]), known_hosts=Path(sync["known_hosts"]),
                        port=int(sync.get("port", 22)), user=sync.get("user", "lessonkit"), host_key_alias=None)
