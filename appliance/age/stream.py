"""The STREAM payload: 64 KiB chunks, ChaCha20-Poly1305, counter nonces.

The payload key is ``HKDF-SHA256(file_key, salt=nonce16, info="payload")``.
Chunk *i* is sealed with the 12-byte nonce ``i`` (11 bytes, big-endian)
followed by ``0x01`` for the last chunk and ``0x00`` for all others. Every
chunk but the last holds exactly 64 KiB; the last holds 1..64 KiB, or 0 bytes
only if it is also the first (the empty file).
"""

from __future__ import annotations

import mmap

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from appliance.age.errors import AgeError, PayloadError, TruncatedError
from appliance.age.primitives import hkdf_sha256

CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
NONCE_SIZE = 16
MAX_COUNTER = (1 << 88) - 1


def payload_aead(file_key: bytes, nonce: bytes) -> ChaCha20Poly1305:
    """The AEAD for the payload; build once per file and reuse it."""
    return ChaCha20Poly1305(hkdf_sha256(file_key, nonce, b"payload"))


def chunk_nonce(counter: int, last: bool) -> bytes:
    """The 12-byte nonce of chunk ``counter``.

    >>> chunk_nonce(1, last=True).hex()
    '000000000000000000000101'
    """
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def open_chunk(
    aead: ChaCha20Poly1305, index: int, data: memoryview, at_end: bool, target: memoryview
) -> tuple[int, bool, AgeError | None]:
    """Authenticate and decrypt chunk ``index`` into ``target``.

    ``data`` is the encrypted chunk (at most 64 KiB + 16 bytes) and
    ``at_end`` says whether the payload ends right after it. Returns
    ``(size, last, error_after)``: the plaintext size, whether this was the
    final chunk, and an error to raise once this chunk's authenticated
    plaintext has been handed out (a full chunk at the end of the file that
    is not marked last: cut off; a final chunk followed by more data:
    trailing data). Raises :class:`PayloadError` (or
    :class:`TruncatedError`); ``target`` then holds zeros, never
    unauthenticated plaintext.

    Every decryptor goes through here, so they all draw the spec's lines in
    the same places.

    >>> aead = payload_aead(bytes(16), bytes(16)); out = memoryview(bytearray(CHUNK_SIZE))
    >>> sealed = memoryview(aead.encrypt(chunk_nonce(0, True), b"hi", None))
    >>> open_chunk(aead, 0, sealed, True, out), bytes(out[:2])
    ((2, True, None), b'hi')
    >>> open_chunk(aead, 1, sealed, True, out)
    Traceback (most recent call last):
    ...
    appliance.age.errors.PayloadError: payload chunk 1 failed to authenticate: file is corrupt or truncated
    """
    if len(data) < TAG_SIZE:
        if index == 0 and len(data) == 0:
            raise TruncatedError("file is truncated: the payload has no chunks")
        raise PayloadError(f"file is truncated or corrupt: chunk {index} is too short")
    size = len(data) - TAG_SIZE
    target = target[:size]
    error_after = None
    try:
        aead.decrypt_into(chunk_nonce(index, at_end), data, None, target)
        last = at_end
    except InvalidTag:
        target[:] = bytes(size)
        last = not at_end
        try:
            if size != CHUNK_SIZE:
                raise InvalidTag
            # A full chunk may be the last one (followed by garbage), or a
            # full chunk at end of file may be a non-last one (cut off).
            aead.decrypt_into(chunk_nonce(index, last), data, None, target)
        except InvalidTag:
            target[:] = bytes(size)
            raise PayloadError(
                f"payload chunk {index} failed to authenticate: file is corrupt or truncated"
            ) from None
        if at_end:
            error_after = TruncatedError(f"file is truncated: it ends after chunk {index} without a final chunk")
        else:
            error_after = PayloadError("trailing data after the end of the encrypted file")
    if last and size == 0 and index > 0:
        raise PayloadError("final chunk is empty; only an empty file may end with one")
    return size, last, error_after


def page_aligned_buffer(size: int) -> memoryview:
    """A zeroed, writable buffer that starts on a page boundary.

    The kernel copies between the page cache and a buffer up to four times
    slower when the buffer sits a few bytes past a page boundary (measured
    here: 0.56 s instead of 0.14 s of system time per GiB for ``pread``), which
    is where ``bytearray`` data of this size usually lands.

    >>> buf = page_aligned_buffer(65536); len(buf), buf[0]
    (65536, 0)
    """
    return memoryview(mmap.mmap(-1, size))
