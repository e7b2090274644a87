"""The ``kit`` command line: one sub-command module per area."""
