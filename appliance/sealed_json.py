"""Small JSON documents age-encrypted to a list of recipients, written atomically.

Used for everything personal a trajectory or the audit log adds (learning
question, chosen clips, action points, audit entries): the plaintext only
ever exists in memory; on disk there is a complete age file or nothing.

>>> import tempfile, pathlib
>>> from appliance import age
>>> who = age.generate_identity()
>>> path = pathlib.Path(tempfile.mkdtemp()) / "doc.json.age"
>>> write_sealed_json(path, {"q": "hoe?"}, [str(who.recipient)])
>>> read_sealed_json(path, [who])
{'q': 'hoe?'}
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Iterable

from appliance import age
from appliance.errors import KitError


class DamagedDocument(KitError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"{path.name} is damaged (not a complete encrypted document)")


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_sealed_json(path: Path, doc: Any, recipients: Iterable[str], *, exclusive: bool = False) -> None:
    """Encrypt ``doc`` to ``recipients`` and put it at ``path`` (fsync, rename, fsync dir).

    ``exclusive``: never replace an existing file (append-only logs).
    """
    parsed = [age.parse_recipient(r) for r in recipients]
    if not parsed:
        raise KitError("nobody to encrypt to")
    plain = json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")
    sealed = io.BytesIO()
    with age.Encryptor(sealed, parsed) as writer:
        writer.write(plain)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(sealed.getbuffer())
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        partial.unlink(missing_ok=True)
        raise
    os.close(fd)
    if exclusive:
        try:
            os.link(partial, path)  # fails instead of replacing an entry already written
        finally:
            partial.unlink(missing_ok=True)
    else:
        os.replace(partial, path)
    fsync_dir(path.parent)


def read_sealed_json(path: Path, identities: list[Any]) -> Any:
    with path.open("rb") as f:
        plain = age.Decryptor(f, identities).read()
    try:
        return json.loads(plain.decode("utf-8"))
    except ValueError:
        raise DamagedDocument(path) from None
