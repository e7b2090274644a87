"""The school server side of sync (the ``kit-server`` command)."""
