"""The one error type a user is meant to read.

Anything raised as :class:`KitError` reaches the user as a single line and a
non-zero exit code, never as a traceback: it describes something the user can
act on (a wrong passphrase, an unknown person, a full disk).
"""


class KitError(Exception):
    """A mistake or condition the user can fix; its text is shown as-is."""

    exit_code = 1
