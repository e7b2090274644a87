"""Encrypting a whole file with several processes.

When the input is a regular file, the layout of the age file is known before
a byte is encrypted: the header and payload nonce, then chunk *i* of the
plaintext as 64 KiB + 16 bytes at a fixed offset, the final-chunk flag on the
last one. So the chunks can be sealed out of order. pyca ``cryptography``
holds the GIL while it encrypts, so threads would not help; worker processes
(``os.fork``) each take blocks of chunks from a shared queue (a pipe holding
block numbers), ``pread`` the plaintext, seal it with their own AEAD object
and ``pwrite`` the ciphertext at its offset. Every worker holds about 0.5 MiB
of buffers, whatever the file size.

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

import errno
import os
import signal
import stat
import threading
from typing import Iterable

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

#: Below this size forking costs more than it saves.
PARALLEL_MIN_SIZE = 8 << 20
#: More workers than this only add contention on the page cache.
MAX_WORKERS = 8
#: Chunks per queue entry (4 MiB of plaintext): small enough to balance the
#: load when other processes take a core, large enough to keep the queue short.
BLOCK_CHUNKS = 64
#: Chunks per pread/pwrite: the buffers stay in the CPU cache.
IO_CHUNKS = 4
# The queue must fit in a pipe's buffer (64 KiB) so it can be filled at once.
_MAX_BLOCKS = 4096
_TOKEN = 8


class EncryptFailed(AgeError):
    """A worker could not read the input or write the output."""


def default_workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def parallel_size(src: int, dst: int, min_size: int = PARALLEL_MIN_SIZE) -> int | None:
    """The number of plaintext bytes to encrypt if ``src`` → ``dst`` can be
    done in parallel, else ``None``.

    ``src`` must be a regular file with at least ``min_size`` bytes after its
    current offset; ``dst`` a regular file not opened for appending (pwrite
    would ignore the offset) or the null device.
    """
    try:
        s, d = os.fstat(src), os.fstat(dst)
        position = os.lseek(src, 0, os.SEEK_CUR)
        os.lseek(dst, 0, os.SEEK_CUR)
        append = _fcntl_flags(dst) & os.O_APPEND
    except OSError:
        return None
    if not stat.S_ISREG(s.st_mode) or append:
        return None
    if stat.S_ISREG(d.st_mode):
        if (s.st_dev, s.st_ino) == (d.st_dev, d.st_ino):
            return None
    elif not (stat.S_ISCHR(d.st_mode) and d.st_rdev == _null_rdev()):
        return None
    size = s.st_size - position
    if size < max(min_size, 0):
        return None
    if threading.active_count() > 1:
        # A forked child of a threaded process may inherit a lock held by
        # another thread (OpenSSL, malloc) and hang; stay in one process.
        return None
    return size


def _fcntl_flags(fd: int) -> int:
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_GETFL)


def _null_rdev() -> int | None:
    try:
        return os.stat(os.devnull).st_rdev
    except OSError:
        return None


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
    block_chunks = max(block_chunks, 1, -(-n_chunks // _MAX_BLOCKS))
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
        _pwrite_all(dst, memoryview(header + nonce), dst_base)
    except OSError as exc:
        raise EncryptFailed(f"cannot write output: {exc.strerror or exc}") from None
    job = _Job(
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
    _run_workers(job, n_blocks, count)
    if os.fstat(src).st_size - src_base != size:
        raise EncryptFailed("the input file changed size while it was being encrypted")
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


class _Job:
    def __init__(self, **fields) -> None:
        self.__dict__.update(fields)


def _run_workers(job: _Job, n_blocks: int, count: int) -> None:
    queue_r, queue_w = os.pipe()
    errors_r, errors_w = os.pipe()
    children: list[int] = []
    try:
        for _ in range(count - 1):
            try:
                pid = os.fork()
            except OSError as exc:
                raise EncryptFailed(f"cannot start encryption workers: {exc.strerror or exc}") from None
            if pid == 0:  # pragma: no cover - runs in the child
                _child(job, queue_r, queue_w, errors_w)
            children.append(pid)
        # Filled after the fork: should the pipe be small, the children
        # empty it while this write waits.
        try:
            os.write(queue_w, b"".join(i.to_bytes(_TOKEN, "big") for i in range(n_blocks)))
        finally:
            os.close(queue_w)  # readers see the end of the queue once it is drained
            queue_w = -1
        own_error = None
        try:
            _work(job, queue_r)
        except EncryptFailed as exc:
            own_error = str(exc)
            _drain(queue_r)
        crashed = False
        for pid in list(children):
            _, status = os.waitpid(pid, 0)
            children.remove(pid)
            crashed |= os.waitstatus_to_exitcode(status) != 0
        os.close(errors_w)
        errors_w = -1
        reported = _read_all(errors_r).decode("utf-8", "replace").splitlines()
        if own_error is not None:
            raise EncryptFailed(own_error)
        if reported:
            raise EncryptFailed(reported[0])
        if crashed:
            raise EncryptFailed("an encryption worker stopped unexpectedly")
    finally:
        for pid in children:  # only if we got here by an exception (e.g. Ctrl-C)
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
        for fd in (queue_r, queue_w, errors_r, errors_w):
            if fd >= 0:
                os.close(fd)


def _child(job: _Job, queue_r: int, queue_w: int, errors_w: int) -> None:  # pragma: no cover - child process
    code = 1
    try:
        os.close(queue_w)  # or the queue would never end
        try:
            _work(job, queue_r)
            code = 0
        except EncryptFailed as exc:
            message = str(exc)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, then exit
            message = f"encryption worker failed: {type(exc).__name__}: {exc}"
        if code:
            _drain(queue_r)  # the others stop at their next block
            os.write(errors_w, (message.replace("\n", " ")[:400] + "\n").encode("utf-8", "replace"))
    finally:
        os._exit(code)


def _work(job: _Job, queue_r: int) -> None:
    """Seal blocks of chunks until the queue is empty."""
    aead = payload_aead(job.file_key, job.nonce)
    pv = page_aligned_buffer(IO_CHUNKS * CHUNK_SIZE)
    sv = page_aligned_buffer(IO_CHUNKS * ENCRYPTED_CHUNK_SIZE)
    last = job.n_chunks - 1
    try:
        while token := os.read(queue_r, _TOKEN):
            first = int.from_bytes(token, "big") * job.block_chunks
            end = min(job.n_chunks, first + job.block_chunks)
            for start in range(first, end, IO_CHUNKS):
                stop = min(end, start + IO_CHUNKS)
                offset = start * CHUNK_SIZE
                length = min(job.size, stop * CHUNK_SIZE) - offset
                _pread_exact(job.src, pv[:length], job.src_base + offset)
                out = 0
                for i in range(start, stop):
                    p = (i - start) * CHUNK_SIZE
                    n = min(length - p, CHUNK_SIZE) + TAG_SIZE
                    aead.encrypt_into(chunk_nonce(i, i == last), pv[p : p + n - TAG_SIZE], None, sv[out : out + n])
                    out += n
                try:
                    _pwrite_all(job.dst, sv[:out], job.payload_base + start * ENCRYPTED_CHUNK_SIZE)
                except OSError as exc:
                    raise EncryptFailed(f"cannot write output: {exc.strerror or exc}") from None
    finally:
        pv[:] = bytes(len(pv))  # no plaintext left behind in memory


def _pread_exact(fd: int, view: memoryview, offset: int) -> None:
    while view:
        try:
            n = os.preadv(fd, [view], offset)
        except OSError as exc:
            raise EncryptFailed(f"cannot read input: {exc.strerror or exc}") from None
        if n == 0:
            raise EncryptFailed("the input file changed size while it was being encrypted")
        view = view[n:]
        offset += n


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    while view:
        n = os.pwritev(fd, [view], offset)
        if n == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[n:]
        offset += n


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


def _read_all(fd: int) -> bytes:
    data = b""
    while block := os.read(fd, 65536):
        data += block
    return data
