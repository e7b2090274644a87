"""Sealed files: age-encrypted to a list of recipients and written atomically.

The one way the kit puts something personal on disk. Plaintext goes from
memory straight into the encryptor; only ciphertext reaches the disk, first
under ``<name>.partial`` (so recovery and the plaintext scan recognise an
unfinished file), then fsync, rename and fsync of the directory
(:func:`appliance.durable.atomic_file`). A name without ``.partial`` is
always a complete, authenticated age file.

Footage segments are sealed from chunks (:func:`write_sealed`); small
documents (annotations, trajectory notes, audit entries) as JSON
(:func:`write_sealed_json`).

>>> import tempfile, pathlib
>>> from appliance import age
>>> who = age.generate_identity()
>>> path = pathlib.Path(tempfile.mkdtemp()) / "doc.json.age"
>>> write_sealed_json(path, {"q": "hoe?"}, [str(who.recipient)])
>>> read_sealed_json(path, [who])
{'q': 'hoe?'}
>>> write_sealed(path.parent, "seg.age", [b"moof", b"mdat"], [who.recipient]) > 8
True
>>> age.Decryptor(open(path.parent / "seg.age", "rb"), [who]).read()
b'moofmdat'
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Iterable

from appliance import age
from appliance.durable import atomic_file, write_atomic
from appliance.errors import KitError

PARTIAL_SUFFIX = ".partial"


class DamagedDocument(KitError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"{path.name} is damaged (not a complete encrypted document)")


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + PARTIAL_SUFFIX)


def write_sealed(directory: Path, name: str, chunks: Iterable[bytes], recipients: list, *,
                 mode: int = 0o640, exclusive: bool = False) -> int:
    """Encrypt ``chunks`` to ``recipients`` as ``directory/name``; returns its size in bytes.

    On any error the ``.partial`` file is removed (freeing the space a full
    disk needs) and the error propagates; files sealed earlier are untouched.
    """
    final = Path(directory) / name
    with atomic_file(final, mode=mode, exclusive=exclusive, temp=partial_path(final)) as out:
        encryptor = age.Encryptor(out, recipients)
        for chunk in chunks:
            encryptor.write(chunk)
        encryptor.close()
        size = os.fstat(out.fileno()).st_size
    return size


def write_sealed_json(path: Path, doc: Any, recipients: Iterable[str], *, exclusive: bool = False) -> None:
    """Encrypt ``doc`` to ``recipients`` and put it at ``path``.

    ``exclusive``: never replace an existing file (append-only logs).
    """
    parsed = [age.parse_recipient(r) for r in recipients]
    if not parsed:
        raise KitError("nobody to encrypt to")
    plain = json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")
    sealed = io.BytesIO()  # a document is small: seal it whole, then one durable write
    with age.Encryptor(sealed, parsed) as writer:
        writer.write(plain)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, sealed.getbuffer(), exclusive=exclusive, mode=0o600, temp=partial_path(path))


def read_sealed_json(path: Path, identities: list[Any]) -> Any:
    with Path(path).open("rb") as f:
        plain = age.Decryptor(f, identities).read()
    try:
        return json.loads(plain.decode("utf-8"))
    except ValueError:
        raise DamagedDocument(path) from None
