"""The server's directory tree and settings.

::

    ROOT/
      server.db                 SQLite: kits, events, recordings, people, …
      config.json               limits (batch size, caps, gap, ages), ssh user
      ssh/authorized_keys       one line per kit, each with a forced command
      ssh/kit-gate              that forced command (rsync only, own dirs only)
      kits/<kit>/inbox/         write-only for the kit (rrsync -wo -no-overwrite)
      kits/<kit>/roster/        read-only for the kit (rrsync -ro): published files
      kits/<kit>/archive/       batches after they were applied (server only)
      quarantine/<kit>/         refused files, each with a ``.reason`` next to it
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import KitError

DEFAULT_ROOT = Path("/srv/lessonkit")
DEFAULTS = {
    "max_batch_bytes": 8 * 1024 * 1024,
    "stale_temp_s": 3600,
    # A batch may start at most this far beyond the next expected sequence
    # number and still wait for the gap to close (ten full batches).
    "max_gap": 20000,
    # Per kit: the gate and ingest keep the inbox within the first pair,
    # ingest prunes quarantine to the second (64 MiB, 600 files in all).
    "inbox_max_bytes": 48 * 1024 * 1024,
    "inbox_max_files": 400,
    "quarantine_max_bytes": 16 * 1024 * 1024,
    "quarantine_max_files": 200,
    "quarantine_max_age_days": 30,
    "rrsync": "/usr/bin/rrsync",
    "ssh_user": "lessonkit",
}


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / "server.db"

    @property
    def config_file(self) -> Path:
        return self.root / "config.json"

    @property
    def ssh(self) -> Path:
        return self.root / "ssh"

    @property
    def authorized_keys(self) -> Path:
        return self.ssh / "authorized_keys"

    @property
    def gate(self) -> Path:
        return self.ssh / "kit-gate"

    @property
    def kits(self) -> Path:
        return self.root / "kits"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    def kit(self, kit_id: str) -> Path:
        return self.kits / kit_id

    def inbox(self, kit_id: str) -> Path:
        return self.kit(kit_id) / "inbox"

    def roster(self, kit_id: str) -> Path:
        return self.kit(kit_id) / "roster"

    def archive(self, kit_id: str) -> Path:
        return self.kit(kit_id) / "archive"

    def config(self) -> dict:
        conf = dict(DEFAULTS)
        if self.config_file.exists():
            conf.update(json.loads(self.config_file.read_text()))
        return conf

    def require(self) -> "Layout":
        if not self.db.exists():
            raise KitError(f"no kit-server here: run kit-server init --root {self.root}")
        return self
