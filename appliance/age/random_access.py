"""A seekable reader over an age file, for HTTP Range requests and HLS.

Chunk boundaries in an age payload follow from the file size alone, so the
reader can decrypt just the 64 KiB chunks a read touches. The final chunk is
authenticated when the reader opens, which detects truncation (including a
cut exactly at a chunk boundary) and fixes :attr:`RandomAccessReader.size`.

>>> import io
>>> from appliance.age.keys import generate_identity
>>> from appliance.age.writer import Encryptor
>>> me = generate_identity(); buf = io.BytesIO()
>>> with Encryptor(buf, [me.recipient]) as w:
...     _ = w.write(bytes(range(256)) * 1000)
>>> r = open_random_access(buf, [me])
>>> r.size, r.seek(70000), r.read(3)
(256000, 70000, b'pqr')
"""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from typing import BinaryIO, Iterable

from cryptography.exceptions import InvalidTag

from appliance.age.errors import HeaderError, PayloadError, TruncatedError
from appliance.age.filekey import Identity, open_header
from appliance.age.stream import (
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    NONCE_SIZE,
    TAG_SIZE,
    chunk_nonce,
    payload_aead,
)


class RandomAccessReader(io.RawIOBase):
    """Read-only, seekable plaintext view of an age file.

    Reads are safe from several threads (one lock per reader). Partially read
    chunks are kept in a small LRU cache (``cache_chunks``), so sequential
    small reads decrypt each chunk once.
    """

    def __init__(self, stream: BinaryIO, identities: Iterable[Identity], cache_chunks: int = 8) -> None:
        super().__init__()
        self._stream = stream
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cache_chunks = max(1, cache_chunks)
        try:
            self._fd: int | None = stream.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            self._fd = None
        stream.seek(0)
        opened = open_header(stream, identities)
        total = stream.seek(0, os.SEEK_END)
        nonce_at = opened.header.size
        if total < nonce_at + NONCE_SIZE:
            raise HeaderError("file is truncated: the payload nonce is missing")
        nonce = self._pread(nonce_at, NONCE_SIZE)
        self._aead = payload_aead(opened.file_key, nonce)
        self._payload_at = nonce_at + NONCE_SIZE
        payload = total - self._payload_at
        if payload == 0:
            raise TruncatedError("file is truncated: the payload has no chunks")
        self._chunks = (payload + ENCRYPTED_CHUNK_SIZE - 1) // ENCRYPTED_CHUNK_SIZE
        last_size = payload - (self._chunks - 1) * ENCRYPTED_CHUNK_SIZE
        if last_size < TAG_SIZE:
            raise PayloadError(f"file is truncated or corrupt: chunk {self._chunks - 1} is too short")
        if last_size == TAG_SIZE and self._chunks > 1:
            raise PayloadError("final chunk is empty; only an empty file may end with one")
        self.size = (self._chunks - 1) * CHUNK_SIZE + last_size - TAG_SIZE
        self._pos = 0
        self._verify_last()

    def _pread(self, offset: int, size: int) -> bytes:
        if self._fd is not None:
            data = os.pread(self._fd, size, offset)
        else:
            self._stream.seek(offset)
            data = self._stream.read(size)
        if len(data) != size:
            raise TruncatedError("file got shorter while it was being read")
        return data

    def _verify_last(self) -> None:
        index = self._chunks - 1
        data = self._pread(self._payload_at + index * ENCRYPTED_CHUNK_SIZE, self._size_of(index) + TAG_SIZE)
        try:
            plain = self._aead.decrypt(chunk_nonce(index, True), data, None)
        except InvalidTag:
            if len(data) == ENCRYPTED_CHUNK_SIZE:
                try:
                    self._aead.decrypt(chunk_nonce(index, False), data, None)
                except InvalidTag:
                    pass
                else:
                    raise TruncatedError(
                        f"file is truncated: it ends after chunk {index} without a final chunk"
                    ) from None
            raise PayloadError(
                f"final payload chunk {index} failed to authenticate: file is corrupt or truncated"
            ) from None
        self._remember(index, plain)

    def _size_of(self, index: int) -> int:
        return CHUNK_SIZE if index < self._chunks - 1 else self.size - index * CHUNK_SIZE

    def _remember(self, index: int, plain: bytes) -> None:
        self._cache[index] = plain
        self._cache.move_to_end(index)
        while len(self._cache) > self._cache_chunks:
            self._cache.popitem(last=False)

    def _decrypt(self, index: int, data: memoryview, out: memoryview) -> None:
        try:
            self._aead.decrypt_into(chunk_nonce(index, index == self._chunks - 1), data, None, out)
        except InvalidTag:
            out[:] = bytes(len(out))
            raise PayloadError(f"payload chunk {index} failed to authenticate: file is corrupt") from None

    # io.RawIOBase interface

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, buffer) -> int:  # type: ignore[override]
        out = memoryview(buffer).cast("B")
        with self._lock:
            start = self._pos
            end = min(self.size, start + len(out))
            if end <= start:
                return 0
            self._read_range(start, end, out)
            self._pos = end
            return end - start

    def _read_range(self, start: int, end: int, out: memoryview) -> None:
        first, last = start // CHUNK_SIZE, (end - 1) // CHUNK_SIZE
        # Snapshot the cached chunks: remembering a partly read chunk below
        # may evict one this read still needs.
        cached = {i: self._cache[i] for i in range(first, last + 1) if i in self._cache}
        # Chunks not in the cache are read from the file in one call.
        missing = [i for i in range(first, last + 1) if i not in cached]
        cipher = b""
        cipher_from = 0
        if missing:
            cipher_from = missing[0]
            cipher_to = missing[-1]
            offset = self._payload_at + cipher_from * ENCRYPTED_CHUNK_SIZE
            length = (cipher_to - cipher_from) * ENCRYPTED_CHUNK_SIZE + self._size_of(cipher_to) + TAG_SIZE
            cipher = memoryview(self._pread(offset, length))
        written = 0
        for index in range(first, last + 1):
            chunk_start = index * CHUNK_SIZE
            size = self._size_of(index)
            lo = max(start, chunk_start) - chunk_start
            hi = min(end, chunk_start + size) - chunk_start
            plain = cached.get(index)
            if plain is not None:
                if index in self._cache:
                    self._cache.move_to_end(index)
                out[written : written + hi - lo] = plain[lo:hi]
            else:
                at = (index - cipher_from) * ENCRYPTED_CHUNK_SIZE
                data = cipher[at : at + size + TAG_SIZE]
                if lo == 0 and hi == size:
                    # Whole chunk wanted: decrypt straight into the caller's buffer.
                    self._decrypt(index, data, out[written : written + size])
                else:
                    tmp = bytearray(size)
                    self._decrypt(index, data, memoryview(tmp))
                    plain = bytes(tmp)
                    self._remember(index, plain)
                    out[written : written + hi - lo] = plain[lo:hi]
            written += hi - lo

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if size is None or size < 0:
            size = max(0, self.size - self._pos)
        buf = bytearray(min(size, max(0, self.size - self._pos)))
        n = self.readinto(buf)
        return bytes(buf[:n])

    def readall(self) -> bytes:
        return self.read()

    def close(self) -> None:
        self._cache.clear()
        super().close()


def open_random_access(
    stream: BinaryIO, identities: Iterable[Identity], cache_chunks: int = 8
) -> RandomAccessReader:
    """Open ``stream`` (seekable binary file) for random access; see :class:`RandomAccessReader`."""
    return RandomAccessReader(stream, identities, cache_chunks)
