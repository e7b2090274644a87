"""``kit run``: controller state machine, control socket, storage guard, systemd."""

from .controller import CannotRecord, KitController, NotRecording
from .storage import DiskLow, StorageGuard

__all__ = ["CannotRecord", "DiskLow", "KitController", "NotRecording", "StorageGuard"]
