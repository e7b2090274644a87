"""Salvage of age files whose stream was cut off (e.g. power lost while writing).

:func:`salvage` copies the plaintext of every chunk that authenticates, in
order, and stops at the first one that does not. It never runs implicitly: the
normal readers refuse a cut-off file, and the caller must ask for salvage and
gets a :class:`SalvageReport` saying what was recovered and why it stopped.
Only whole 64 KiB chunks of a cut-off stream can be recovered; bytes of the
unfinished chunk are lost (they were never authenticated).

>>> import io
>>> from appliance.age.keys import generate_identity
>>> from appliance.age.writer import Encryptor
>>> me = generate_identity(); buf = io.BytesIO()
>>> w = Encryptor(buf, [me.recipient]); _ = w.write(bytes(200_000)); w.abort()
>>> out = io.BytesIO(); report = salvage(io.BytesIO(buf.getvalue()), [me], out)
>>> report.complete, report.chunks, len(out.getvalue())
(False, 3, 196608)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Iterable

from cryptography.exceptions import InvalidTag

from appliance.age.errors import AgeError, HeaderError
from appliance.age.filekey import Identity, open_header
from appliance.age.reader import ChunkSource
from appliance.age.stream import CHUNK_SIZE, NONCE_SIZE, TAG_SIZE, chunk_nonce, payload_aead


@dataclass
class SalvageReport:
    """What :func:`salvage` recovered. ``complete`` means nothing was lost."""

    complete: bool
    chunks: int
    bytes: int
    reason: str
    salvaged: bool = True

    def __str__(self) -> str:
        state = "complete file" if self.complete else "SALVAGED (incomplete)"
        return f"{state}: {self.bytes} bytes in {self.chunks} chunks; {self.reason}"


def salvage(stream: BinaryIO, identities: Iterable[Identity], out: BinaryIO) -> SalvageReport:
    """Write the authenticated plaintext of ``stream`` to ``out``; report what was saved.

    Header errors (wrong key, modified header) still raise: there is nothing
    to salvage without the file key.
    """
    opened = open_header(stream, identities)
    source = ChunkSource(stream, opened.rest)
    nonce = source.take(NONCE_SIZE)
    if len(nonce) < NONCE_SIZE:
        raise HeaderError("file is truncated: the payload nonce is missing")
    aead = payload_aead(opened.file_key, bytes(nonce))
    index = 0
    total = 0
    while True:
        data, at_end = source.next_chunk()
        if len(data) == 0 and at_end:
            reason = "file ends without a final chunk (cut off while writing)"
            return SalvageReport(False, index, total, reason)
        plain = None
        last = False
        for candidate in ((True,) if len(data) != CHUNK_SIZE + TAG_SIZE else (at_end, not at_end)):
            try:
                plain = aead.decrypt(chunk_nonce(index, candidate), bytes(data), None)
                last = candidate
                break
            except InvalidTag:
                continue
        if plain is None:
            what = "is cut off" if at_end else "does not authenticate"
            return SalvageReport(False, index, total, f"chunk {index} {what}; stopped there")
        if last and not plain and index > 0:
            return SalvageReport(False, index, total, "final chunk is empty (invalid); stopped there")
        _write_all(out, plain)
        total += len(plain)
        index += 1
        if last:
            if at_end:
                return SalvageReport(True, index, total, "final chunk present, nothing lost", salvaged=False)
            return SalvageReport(False, index, total, "trailing data after the final chunk was ignored")


def _write_all(out: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = out.write(view)
        if n is None:
            raise AgeError("output would block")
        view = view[n:]
