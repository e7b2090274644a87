"""Decrypting a whole age file with several processes.

When the input is a regular file, its size fixes the layout of the payload:
chunk *i* is 64 KiB + 16 bytes at a fixed offset, the last one is whatever
is left, and its plaintext belongs at *i* × 64 KiB in the output. So chunks
can be opened out of order: worker processes (:mod:`appliance.age.workers`)
each take blocks of chunks from a shared queue, ``pread`` the ciphertext,
authenticate and decrypt every chunk by the same rules as the sequential
:class:`~appliance.age.reader.Decryptor` (:func:`~appliance.age.stream.open_chunk`:
the final-chunk flag, a file cut off at a chunk boundary, trailing data, an
empty final chunk) and ``pwrite`` the plaintext at its offset. A chunk's
plaintext reaches the output only after that chunk authenticated.

Nothing is *released* before the whole file has authenticated:
:meth:`OpenedFile.decrypt_to` returns only then. If any chunk fails, it
raises the error of the first failing chunk (the one a sequential reader
would have stopped at) and cuts a regular output file back to where it
started, so no part of the plaintext of a bad file is left in it; the
caller removes a file it created for the purpose (``kit age decrypt``
does, as it does for encryption).

An output that is not a regular file (a pipe, a terminal), a small file, one
CPU or a process running other threads go through the sequential
:class:`~appliance.age.reader.Decryptor`: each chunk is written out as soon as
it authenticated, as ``age -d`` does, and a failure stops the stream there.

>>> import os, tempfile
>>> from appliance.age.keys import generate_identity
>>> from appliance.age.parallel_encrypt import encrypt_file
>>> me = generate_identity(); plain = os.urandom(300_000)
>>> with tempfile.TemporaryFile() as src, tempfile.TemporaryFile() as enc, tempfile.TemporaryFile() as out:
...     _ = src.write(plain); _ = src.seek(0)
...     _ = encrypt_file(src.fileno(), enc.fileno(), [me.recipient], min_size=0, workers=2, block_chunks=2)
...     _ = enc.seek(0)
...     used = decrypt_file(enc.fileno(), out.fileno(), [me], min_size=0, workers=2, block_chunks=2)
...     _ = out.seek(0); out.read() == plain
True

(``used`` is 2 here, or 1 when the calling process runs other threads and
so must not fork: a test suite that has started servers, say.)
"""

from __future__ import annotations

import os
import stat
from typing import Iterable, Iterator

from appliance.age import workers as pool
from appliance.age.errors import AgeError, PayloadError, TruncatedError
from appliance.age.filekey import Identity, open_header
from appliance.age.stream import (
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    NONCE_SIZE,
    TAG_SIZE,
    open_chunk,
    page_aligned_buffer,
    payload_aead,
)

#: Below this size forking costs more than it saves.
PARALLEL_MIN_SIZE = 8 << 20
#: Chunks per queue entry (4 MiB): small enough to balance the load when
#: other processes take a core, large enough to keep the queue short.
BLOCK_CHUNKS = 64
#: Chunks per pread/pwrite: the buffers stay in the CPU cache.
IO_CHUNKS = 4
_COPY_CHUNKS = 2

_CHANGED = "the input file changed size while it was being decrypted"


class DecryptFailed(AgeError):
    """The input could not be read or the output not written."""


class OpenedFile:
    """An age file on file descriptor ``src`` (from its current offset)
    whose header opened with one of ``identities``.

    Opening reads and checks the header only, so a wrong key or a modified
    header fails before an output is created.
    """

    def __init__(self, src: int, identities: Iterable[Identity]) -> None:
        self._src = src
        try:
            self._base: int | None = os.lseek(src, 0, os.SEEK_CUR)
        except OSError:
            self._base = None  # a pipe
        self._stream = open(src, "rb", buffering=0, closefd=False)
        self._opened = open_header(self._stream, identities)

    def reader(self):
        """The plaintext as a sequential :class:`~appliance.age.reader.Decryptor`."""
        from appliance.age.reader import Decryptor

        return Decryptor.after_header(self._stream, self._opened)

    def decrypt_to(
        self,
        dst: int,
        *,
        workers: int | None = None,
        min_size: int = PARALLEL_MIN_SIZE,
        block_chunks: int = BLOCK_CHUNKS,
    ) -> int:
        """Write the plaintext to file descriptor ``dst`` at its offset (once).

        Both offsets end up after the data, as if it had been copied
        sequentially. Returns the number of processes that did the work (1:
        the sequential path). Raises the spec's :class:`PayloadError` /
        :class:`TruncatedError` for a bad payload, :class:`HeaderError` if
        the payload nonce is missing, :class:`DecryptFailed` (one line) if
        the input cannot be read or the output not written. After a failure
        a regular ``dst`` is cut back to its starting offset.
        ``min_size`` and ``block_chunks`` (chunks per queue entry) are there
        for tests.
        """
        count = pool.default_workers() if workers is None else max(1, workers)
        job = self._job(dst, count, min_size, block_chunks) if count > 1 else None
        try:
            dst_base = os.lseek(dst, 0, os.SEEK_CUR)
        except OSError:
            dst_base = None
        try:
            if job is None:
                self._decrypt_streaming(dst)
                return 1
            count = min(count, job.n_blocks)
            pool.run(
                lambda blocks: _work(job, blocks), job.n_blocks, count, DecryptFailed, "decryption",
                errors=(PayloadError, TruncatedError),
            )
            if os.fstat(self._src).st_size != job.payload_at + job.size:
                raise DecryptFailed(_CHANGED)
        except BaseException:
            _cut_back(dst, dst_base)
            raise
        os.lseek(self._src, job.payload_at + job.size, os.SEEK_SET)
        os.lseek(dst, job.dst_base + job.plain_size, os.SEEK_SET)
        return count

    def _job(self, dst: int, count: int, min_size: int, block_chunks: int) -> "_Job | None":
        """The parallel plan, or None where the sequential path must be taken."""
        if self._base is None or pool.can_share(self._src, dst) is None:
            return None
        nonce_at = self._base + self._opened.header.size
        payload_at = nonce_at + NONCE_SIZE
        size = os.fstat(self._src).st_size - payload_at
        if size < max(min_size, 1):
            return None
        nonce = os.pread(self._src, NONCE_SIZE, nonce_at)
        if len(nonce) < NONCE_SIZE:
            return None
        n_chunks = -(-size // ENCRYPTED_CHUNK_SIZE)
        block_chunks = max(block_chunks, 1, -(-n_chunks // pool.MAX_BLOCKS))
        n_blocks = -(-n_chunks // block_chunks)
        if n_blocks < 2:
            return None
        return pool.Job(
            src=self._src,
            dst=dst,
            payload_at=payload_at,
            dst_base=os.lseek(dst, 0, os.SEEK_CUR),
            size=size,
            plain_size=size - n_chunks * TAG_SIZE,
            n_chunks=n_chunks,
            n_blocks=n_blocks,
            block_chunks=block_chunks,
            file_key=self._opened.file_key,
            nonce=nonce,
        )

    def _decrypt_streaming(self, dst: int) -> None:
        plain = self.reader()
        view = page_aligned_buffer(_COPY_CHUNKS * CHUNK_SIZE)
        try:
            while True:
                try:
                    n = plain.readinto(view)
                except OSError as exc:
                    raise DecryptFailed(f"cannot read input: {exc.strerror or exc}") from None
                if not n:
                    return
                try:
                    _write_all(dst, view[:n])
                except OSError as exc:
                    raise DecryptFailed(f"cannot write output: {exc.strerror or exc}") from None
        finally:
            view[:] = bytes(len(view))  # no plaintext left behind in memory


def open_file(src: int, identities: Iterable[Identity]) -> OpenedFile:
    """Read and check the header of the age file on ``src``; see :class:`OpenedFile`."""
    return OpenedFile(src, identities)


def decrypt_file(
    src: int,
    dst: int,
    identities: Iterable[Identity],
    *,
    workers: int | None = None,
    min_size: int = PARALLEL_MIN_SIZE,
    block_chunks: int = BLOCK_CHUNKS,
) -> int:
    """Decrypt the age file on ``src`` (from its offset) to ``dst``; see
    :meth:`OpenedFile.decrypt_to`. Header errors (:class:`NoIdentityMatch`,
    :class:`HeaderError`, :class:`HMACError`) are raised before ``dst`` is written."""
    return open_file(src, identities).decrypt_to(dst, workers=workers, min_size=min_size, block_chunks=block_chunks)


def _work(job: pool.Job, blocks: Iterator[int]) -> None:
    """Open blocks of chunks until the queue is empty."""
    aead = payload_aead(job.file_key, job.nonce)
    cv = page_aligned_buffer(IO_CHUNKS * ENCRYPTED_CHUNK_SIZE)
    pv = page_aligned_buffer(IO_CHUNKS * CHUNK_SIZE)
    last = job.n_chunks - 1
    try:
        for start, stop in pool.io_ranges(blocks, job.block_chunks, job.n_chunks, IO_CHUNKS):
            offset = start * ENCRYPTED_CHUNK_SIZE
            length = min(job.size, stop * ENCRYPTED_CHUNK_SIZE) - offset
            try:
                complete = pool.pread_exact(job.src, cv[:length], job.payload_at + offset)
            except OSError as exc:
                raise pool.Failure(start, DecryptFailed(f"cannot read input: {exc.strerror or exc}")) from None
            if not complete:
                raise pool.Failure(start, DecryptFailed(_CHANGED))
            out = 0
            for i in range(start, stop):
                at = (i - start) * ENCRYPTED_CHUNK_SIZE
                data = cv[at : min(at + ENCRYPTED_CHUNK_SIZE, length)]
                try:
                    size, _, error_after = open_chunk(aead, i, data, i == last, pv[out : out + CHUNK_SIZE])
                except AgeError as exc:
                    raise pool.Failure(i, exc) from None
                if error_after is not None:
                    # Authentic, but the file is cut off or has trailing
                    # data: with a file to write, nothing is released.
                    raise pool.Failure(i, error_after)
                out += size
            try:
                pool.pwrite_all(job.dst, pv[:out], job.dst_base + start * CHUNK_SIZE)
            except OSError as exc:
                raise pool.Failure(start, DecryptFailed(f"cannot write output: {exc.strerror or exc}")) from None
    finally:
        pv[:] = bytes(len(pv))  # no plaintext left behind in memory


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _cut_back(dst: int, base: int | None) -> None:
    """Drop what a failed decryption wrote to a regular file."""
    try:
        if base is not None and stat.S_ISREG(os.fstat(dst).st_mode):
            os.ftruncate(dst, base)
            os.lseek(dst, base, os.SEEK_SET)
    except OSError:
        pass
