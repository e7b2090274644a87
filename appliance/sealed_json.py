"""Small JSON documents age-encrypted to a list of recipients, written atomically.

Used for everything personal that is not footage: annotations, and what a
trajectory or the audit log adds (learning question, chosen clips, action
points, audit entries): the plaintext only
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
from pathlib import Path
from typing import Any, Iterable

from appliance import age
from appliance.durable import write_atomic
from appliance.errors import KitError


class DamagedDocument(KitError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"{path.name} is damaged (not a complete encrypted document)")


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
    write_atomic(path, sealed.getbuffer(), exclusive=exclusive, mode=0o600,
                 temp=path.with_name(path.name + ".partial"))


def read_sealed_json(path: Path, identities: list[Any]) -> Any:
    with path.open("rb") as f:
        plain = age.Decryptor(f, identities).read()
    try:
        return json.loads(plain.decode("utf-8"))
    except ValueError:
        raise DamagedDocument(path) from None
