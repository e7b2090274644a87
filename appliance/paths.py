"""The layout of the kit's data directory: the one place that names its files.

>>> paths = KitPaths("/var/lib/lessonkit/data")
>>> str(paths.identity("p-0123456789ab"))
'/var/lib/lessonkit/data/identities/p-0123456789ab.age'
>>> str(paths.recording("20261201-0900-ab"))
'/var/lib/lessonkit/data/recordings/20261201-0900-ab'
>>> paths.catalogue.name, paths.socket.name
('catalogue.db', 'kit.sock')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KitPaths:
    root: Path

    def __init__(self, root: Path | str) -> None:
        object.__setattr__(self, "root", Path(root))

    @property
    def catalogue(self) -> Path:
        """SQLite, metadata only."""
        return self.root / "catalogue.db"

    @property
    def identities(self) -> Path:
        """Passphrase-wrapped X25519 identities, one per person (``age -p`` format)."""
        return self.root / "identities"

    def identity(self, person_id: str) -> Path:
        return self.identities / f"{person_id}.age"

    @property
    def recordings(self) -> Path:
        return self.root / "recordings"

    def recording(self, recording_id: str) -> Path:
        """Init, segments and the sealed annotations of one recording."""
        return self.recordings / recording_id

    def talk(self, recording_id: str) -> Path:
        """The recording's talk timeline (speech segments near/far), sealed to teacher and coach.

        >>> KitPaths("/d").talk("r1").as_posix()
        '/d/recordings/r1/talk.json.age'
        """
        return self.recording(recording_id) / "talk.json.age"

    @property
    def trajectories(self) -> Path:
        return self.root / "trajectories"

    def trajectory(self, trajectory_id: str) -> Path:
        return self.trajectories / f"{trajectory_id}.json.age"

    @property
    def audit(self) -> Path:
        return self.root / "audit"

    @property
    def shares(self) -> Path:
        return self.root / "shares"

    def share(self, share_id: str) -> Path:
        """A clip shared with an intervisie group: the clip, its document and the comments, all sealed.

        >>> KitPaths("/d").share("s-1").as_posix()
        '/d/shares/s-1'
        """
        return self.shares / share_id

    @property
    def admin_password(self) -> Path:
        return self.root / "admin-password"

    @property
    def socket(self) -> Path:
        """Control socket of the running ``kit run``."""
        return self.root / "run" / "kit.sock"

    @property
    def sync(self) -> Path:
        return self.root / "sync"

    @property
    def tls(self) -> Path:
        """The kit's TLS key and certificates (``appliance.tls.TlsStore``)."""
        return self.root / "tls"

    @property
    def settings_file(self) -> Path:
        return self.root / "kit.toml"
