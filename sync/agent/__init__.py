"""The kit side of sync: outbox → batch files → rsync over ssh; roster back.

``kit run`` starts :class:`SyncService`; ``kit sync`` and the NetworkManager
dispatcher script run one :func:`sync_once`.
"""

from .service import SyncService, SyncResult, sync_once

__all__ = ["SyncService", "SyncResult", "sync_once"]
