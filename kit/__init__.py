"""The composition root: the one place that builds the kit's parts and wires them.

``kit.run`` starts the long-running process (recorder, controls, review app,
sync, housekeeping); ``kit.cli`` holds every ``kit`` sub-command. Nothing
below this package imports it.
"""
