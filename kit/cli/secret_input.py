"""Passphrases and passwords for the command line: from a file (scripts) or the terminal.

The one place the ``kit`` command asks for a secret; the parts below it
only take one.

>>> import tempfile, pathlib
>>> f = pathlib.Path(tempfile.mkdtemp()) / "pw.txt"
>>> _ = f.write_text("correct horse\\nsecond line ignored\\n")
>>> read_secret(str(f), "Passphrase for Anna")
'correct horse'
"""

from __future__ import annotations

import getpass
import os

from appliance.errors import KitError


def read_secret(path: str | None, prompt: str, *, confirm: bool = True, what: str = "passphrase",
                option: str = "--passphrase-file") -> str:
    """The first line of ``path``; without a path, asked on the terminal (twice with ``confirm``)."""
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                line = f.readline().rstrip("\r\n")
        except OSError as exc:
            raise KitError(f"cannot read the {what} file: {exc.strerror}: {path}") from None
        except UnicodeDecodeError:
            raise KitError(f"the {what} file {path} is not UTF-8 text") from None
        if not line:
            raise KitError(f"the {what} file {path} is empty")
        return line
    try:
        os.close(os.open("/dev/tty", os.O_RDWR))
    except OSError:
        raise KitError(f"no terminal to ask for the {what}: use {option} FILE") from None
    secret = getpass.getpass(f"{prompt}: ")
    if not secret:
        raise KitError(f"the {what} is empty")
    if confirm and getpass.getpass(f"Same {what} again: ") != secret:
        raise KitError(f"the two {what}s differ; nothing was changed")
    return secret
