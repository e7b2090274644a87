"""Write one age-encrypted file so that a power cut never leaves a half file under its real name.

Plaintext goes straight from memory into the encryptor; only ciphertext
reaches the disk, first under ``<name>.partial``, then fsync, rename, and
fsync of the directory so the rename itself survives a power cut.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from appliance import age
from appliance.durable import fsync_dir

PARTIAL_SUFFIX = ".partial"


def write_sealed(directory: Path, name: str, chunks: Iterable[bytes], recipients: list) -> int:
    """Encrypt ``chunks`` to ``recipients`` as ``directory/name``; returns its size in bytes.

    On any error the ``.partial`` file is removed (freeing the space a full
    disk needs) and the error propagates; files sealed earlier are untouched.
    """
    final = directory / name
    partial = directory / (name + PARTIAL_SUFFIX)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o640)
    try:
        with os.fdopen(fd, "wb", buffering=0) as out:
            encryptor = age.Encryptor(out, recipients)
            for chunk in chunks:
                encryptor.write(chunk)
            encryptor.close()
            os.fsync(out.fileno())
            size = os.fstat(out.fileno()).st_size
        os.rename(partial, final)
        fsync_dir(directory)
    except BaseException:
        try:
            partial.unlink()
        except OSError:
            pass
        raise
    return size
