"""Encrypting a whole file with several processes.

When the input is a regular file, the layout of the age file is known before
a byte is encrypted: the header and payload nonce, then chunk *i* of the
plaintext as 64 KiB + 16 bytes at a fixed offset, the final-chunk flag on the
last one. So the chunks can be sealed out of order: worker processes
(:mod:`appliance.age.workers`) each take blocks of chunks from a shared
queue, ``pread`` the plaintext, seal it with their own AEAD object and
``pwrite`` the ciphertext at its offset. Every worker holds about 0.5 MiB of
buffers, whatever the file size.

Anything else (pipes, terminals, appending outputs, small files, one CPU, a
process that runs other threads) goes through the streaming
:class:`~appliance.age.writer.Encryptor`, which writes a file of the same
layout.

If anything fails, :func:`encrypt_file` raises and ``dst`` holds an
incomplete file with holes: unlike a cut-off stream it cannot be salvaged,
and the caller must remove it (``kit age encrypt`` does).

>>> import os, tempfile
>>> from appliance.age.keys import generate_identity
>>> from appliance.age.reader import Decryptor
>>> me = generate_identity()
>>> with tempfile.TemporaryFile() as src, tempfile.TemporaryFile() as dst:
...     _ = src.write(os.urandom(300_000)); _ = src.seek(0)
...     used = encrypt_file(src.fileno(), dst.fileno(), [me.recipient], min_size=0, workers=2, block_chunks=2)
...     _ = dst.seek(0); _ = src.seek(0)
...     Decryptor(dst, [me]).read() == src.read()
True

(``used`` is 2 here, or 1 when the calling process runs other threads and
so must not fork.)
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator

from appliance.age import workers as pool
from appliance.age.errors import AgeError
from appliance.age.filekey import Recipient, seal_header
from appliance.age.stream import (
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    MAX_COUNTER,
    NONCE_SIZE,
    TAG_SIZE,
    chunk_nonce,
    page_aligned_buffer,
    payload_aead,
)
from appliance.age.workers import MAX_WORKERS, default_workers  # noqa: F401 - part of this module's API

#: Below this size forking costs more than it saves.
PARALLEL_MIN_SIZE = 8 << 20
#: Chunks per queue entry (4 MiB of plaintext): small enough to balance the
#: load when other processes take a core, large enough to keep the queue short.
BLOCK_CHUNKS = 64
#: Chunks per pread/pwrite: the buffers stay in the CPU cache.
IO_CHUNKS = 4


class EncryptFailed(AgeError):
    """A worker could not read the input or write the output."""


def parallel_size(src: int, dst: int, min_size: int = PARALLEL_MIN_SIZE) -> int | None:
    """The number of plaintext bytes to encrypt if ``src`` → ``dst`` can be
    done in parallel, else ``None``.

    ``src`` must be a regular file with at least ``min_size`` bytes after its
    current offset; ``dst`` a regular file not opened for appending (pwrite
    would ignore the offset) or the null device.
    """
    size = pool.can_share(src, dst)
    if size is None or size < max(min_size, 0):
        return None
    return size


def encrypt_file(
    src: int,
    dst: int,
    recipients: Iterable[Recipient],
    *,
    workers: int | None = None,
    min_size: int = PARALLEL_MIN_SIZE,
    block_chunks: int = BLOCK_CHUNKS,
) -> int:
    """Encrypt from file descriptor ``src`` (its current offset to the end)
    to ``dst`` (at its current offset); both offsets end up after the data,
    as if it had been copied sequentially.

    Returns the number of processes that did the work: 1 means the streaming
    path was used. ``min_size`` and ``block_chunks`` (chunks per queue
    entry) are there for tests. Raises :class:`EncryptFailed` (one line, the first error
    of any worker) or ``OSError`` from the streaming path.
    """
    recipients = list(recipients)
    count = default_workers() if workers is None else max(1, workers)
    size = parallel_size(src, dst, min_size) if count > 1 else None
    if size is None:
        _encrypt_streaming(src, dst, recipients)
        return 1
    n_chunks = max(1, -(-size // CHUNK_SIZE))
    if n_chunks - 1 > MAX_COUNTER:
        raise AgeError("file too large for the age format")
    block_chunks = max(block_chunks, 1, -(-n_chunks // pool.MAX_BLOCKS))
    n_blocks = -(-n_chunks // block_chunks)
    count = min(count, n_blocks)
    if count < 2:
        _encrypt_streaming(src, dst, recipients)
        return 1

    file_key, header = seal_header(recipients)
    nonce = os.urandom(NONCE_SIZE)
    src_base = os.lseek(src, 0, os.SEEK_CUR)
    dst_base = os.lseek(dst, 0, os.SEEK_CUR)
    try:
        pool.pwrite_all(dst, memoryview(header + nonce), dst_base)
    except OSError as exc:
        raise EncryptFailed(f"cannot write output: {exc.strerror or exc}") from None
    job = pool.Job(
        src=src,
        dst=dst,
        src_base=src_base,
        payload_base=dst_base + len(header) + NONCE_SIZE,
        size=size,
        n_chunks=n_chunks,
        block_chunks=block_chunks,
        file_key=file_key,
        nonce=nonce,
    )
    pool.run(lambda blocks: _work(job, blocks), n_blocks, count, EncryptFailed, "encryption")
    if os.fstat(src).st_size - src_base != size:
        raise EncryptFailed(_CHANGED)
    os.lseek(src, src_base + size, os.SEEK_SET)
    os.lseek(dst, job.payload_base + size + n_chunks * TAG_SIZE, os.SEEK_SET)
    return count


def _encrypt_streaming(src: int, dst: int, recipients: list) -> None:
    from appliance.age.writer import Encryptor

    view = page_aligned_buffer(2 * CHUNK_SIZE)
    try:
        with open(dst, "wb", buffering=0, closefd=False) as out, Encryptor(out, recipients) as writer:
            while n := os.readv(src, [view]):
                writer.write(view[:n])
    finally:
        view[:] = bytes(len(view))


def _work(job: pool.Job, blocks: Iterator[int]) -> None:
    """Seal blocks of chunks until the queue is empty."""
    aead = payload_aead(job.file_key, job.nonce)
    pv = page_aligned_buffer(IO_CHUNKS * CHUNK_SIZE)
    sv = page_aligned_buffer(IO_CHUNKS * ENCRYPTED_CHUNK_SIZE)
    last = job.n_chunks - 1
    try:
        for start, stop in pool.io_ranges(blocks, job.block_chunks, job.n_chunks, IO_CHUNKS):
            offset = start * CHUNK_SIZE
            length = min(job.size, stop * CHUNK_SIZE) - offset
            try:
                complete = pool.pread_exact(job.src, pv[:length], job.src_base + offset)
            except OSError as exc:
                raise pool.Failure(start, EncryptFailed(f"cannot read input: {exc.strerror or exc}")) from None
            if not complete:
                raise pool.Failure(start, EncryptFailed(_CHANGED))
            out = 0
            for i in range(start, stop):
                p = (i - start) * CHUNK_SIZE
                n = min(length - p, CHUNK_SIZE) + TAG_SIZE
                aead.encrypt_into(chunk_nonce(i, i == last), pv[p : p + n - TAG_SIZE], None, sv[out : out + n])
                out += n
            try:
                pool.pwrite_all(job.dst, sv[:out], job.payload_base + start * ENCRYPTED_CHUNK_SIZE)
            except OSError as exc:
                raise pool.Failure(start, EncryptFailed(f"cannot write output: {exc.strerror or exc}")) from None
    finally:
        pv[:] = bytes(len(pv))  # no plaintext left behind in memory


_CHANGED = "the input file changed size while it was being encrypted"
