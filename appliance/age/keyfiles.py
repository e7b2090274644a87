"""Identity and recipient files, in the format age and age-keygen use.

One key per line; blank lines and lines starting with ``#`` are ignored.

>>> from appliance.age.keys import generate_identity
>>> me = generate_identity()
>>> text = f"# my key\\n\\n{me}\\n"
>>> [i.recipient for i in read_identities(text)] == [me.recipient]
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, TypeVar

from appliance.age.errors import KeyFormatError
from appliance.age.keys import X25519Identity, X25519Recipient, parse_identity, parse_recipient

T = TypeVar("T")

_MAX_KEY_FILE = 1 << 20


def _text(source: str | bytes | os.PathLike) -> tuple[str, str]:
    """Return ``(text, name)``; a ``str`` is a path only if it looks like one."""
    if isinstance(source, bytes):
        return _decode(source, "input"), "input"
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and not source.lstrip().startswith(("AGE-", "age1", "#"))
    ):
        path = Path(source)
        try:
            with open(path, "rb") as f:
                data = f.read(_MAX_KEY_FILE + 1)
        except OSError as exc:
            raise KeyFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
        if len(data) > _MAX_KEY_FILE:
            raise KeyFormatError(f"{path} is too large to be a key file")
        return _decode(data, str(path)), str(path)
    return source, "input"


def _decode(data: bytes, name: str) -> str:
    if data.startswith(b"age-encryption.org/"):
        raise KeyFormatError(f"{name} is passphrase-protected; unwrap it with its passphrase first")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFormatError(f"{name} is not a text key file") from None


def _lines(text: str):
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            yield number, line


def _read_keys(source: str | bytes | os.PathLike, parse: Callable[[str], T], what: str) -> list[T]:
    text, name = _text(source)
    keys = []
    for number, line in _lines(text):
        try:
            keys.append(parse(line))
        except KeyFormatError as exc:
            raise KeyFormatError(f"{name}, line {number}: {exc}") from None
    if not keys:
        raise KeyFormatError(f"no {what} found in {name}")
    return keys


def read_identities(source: str | bytes | os.PathLike) -> list[X25519Identity]:
    """All identities in an identity file (path) or identity file text."""
    return _read_keys(source, parse_identity, "identities")


def read_recipients(source: str | bytes | os.PathLike) -> list[X25519Recipient]:
    """All recipients in a recipients file (path) or recipients file text."""
    return _read_keys(source, parse_recipient, "recipients")
