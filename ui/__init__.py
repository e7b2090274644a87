"""The Flask review app: unlock, library, player, live view, coding,
statistics and exports (see docs/architecture.md, "ui")."""

from ui.app import create_app

__all__ = ["create_app"]
