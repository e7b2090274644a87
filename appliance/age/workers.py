"""Blocks of chunks shared out among forked worker processes.

An age payload of known size has every chunk at a fixed offset, so a whole
file can be sealed or opened out of order. :func:`run` forks ``count - 1``
children (the calling process is the last worker); each takes block numbers
from a queue (a pipe holding them, filled at once) and hands them to the
same ``work`` function. Blocks leave the queue in order, so when a worker
fails every block before the failing one is still finished by whichever
worker holds it: the failure nearest the start of the file is always found,
and that is the one reported, as a sequential pass would.

Processes rather than threads: older pyca ``cryptography`` releases hold
the GIL while they encrypt, and the per-chunk Python work would share the
GIL even where they do not.

>>> seen = []
>>> run(lambda blocks: seen.extend(blocks), n_blocks=3, count=1, failed=RuntimeError, what="demo")
>>> seen
[0, 1, 2]
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import threading
from typing import Callable, Iterable, Iterator

#: More workers than this only add contention on the page cache.
MAX_WORKERS = 8
# The queue must fit in a pipe's buffer (64 KiB) so it can be filled at once.
MAX_BLOCKS = 4096
_TOKEN = 8


class Failure(Exception):
    """Raised by ``work``: ``error`` (an exception to re-raise in the
    caller) happened at ``position`` (a chunk number; the lowest wins)."""

    def __init__(self, position: int, error: BaseException) -> None:
        super().__init__(position, error)
        self.position = position
        self.error = error


def default_workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def can_share(src: int, dst: int) -> int | None:
    """The bytes after ``src``'s offset if ``src`` → ``dst`` can be worked
    on by several processes, else ``None``.

    ``src`` must be a regular file; ``dst`` a regular file not opened for
    appending (pwrite would ignore the offset), and not ``src`` itself, or
    the null device. The process must run no other thread.
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
    if threading.active_count() > 1:
        # A forked child of a threaded process may inherit a lock held by
        # another thread (OpenSSL, malloc) and hang; stay in one process.
        return None
    return max(0, s.st_size - position)


def _fcntl_flags(fd: int) -> int:
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_GETFL)


def _null_rdev() -> int | None:
    try:
        return os.stat(os.devnull).st_rdev
    except OSError:
        return None


def run(
    work: Callable[[Iterator[int]], None],
    n_blocks: int,
    count: int,
    failed: type[Exception],
    what: str,
    errors: Iterable[type[Exception]] = (),
) -> None:
    """Run ``work(blocks)`` in ``count`` processes until blocks ``0 ..
    n_blocks - 1`` are done.

    ``work`` raises :class:`Failure` to stop; the one with the lowest
    position is raised here (as its ``error``, rebuilt from its class, which
    must be ``failed`` or one of ``errors``, and its one-line message).
    Anything else a child raises, or a child that dies, becomes
    ``failed("<what> worker ...")``.
    """
    kinds = {cls.__name__: cls for cls in (failed, *errors)}
    queue_r, queue_w = os.pipe()
    errors_r, errors_w = os.pipe()
    children: list[int] = []
    try:
        for _ in range(count - 1):
            try:
                pid = os.fork()
            except OSError as exc:
                raise failed(f"cannot start {what} workers: {exc.strerror or exc}") from None
            if pid == 0:  # pragma: no cover - runs in the child
                _child(work, queue_r, queue_w, errors_w, what)
            children.append(pid)
        # Filled after the fork: should the pipe be small, the children
        # empty it while this write waits.
        try:
            os.write(queue_w, b"".join(i.to_bytes(_TOKEN, "big") for i in range(n_blocks)))
        finally:
            os.close(queue_w)  # readers see the end of the queue once it is drained
            queue_w = -1
        found: list[tuple[int, BaseException]] = []
        try:
            work(_blocks(queue_r))
        except Failure as exc:
            found.append((exc.position, exc.error))
            _drain(queue_r)
        crashed = False
        for pid in list(children):
            _, status = os.waitpid(pid, 0)
            children.remove(pid)
            crashed |= os.waitstatus_to_exitcode(status) != 0
        os.close(errors_w)
        errors_w = -1
        for line in _read_all(errors_r).decode("utf-8", "replace").splitlines():
            position, kind, message = line.split("\t", 2)
            error = kinds.get(kind, failed)(message)
            found.append((int(position), error))
        if found:
            raise min(found, key=lambda item: item[0])[1]
        if crashed:
            raise failed(f"{'an' if what[0] in 'aeiou' else 'a'} {what} worker stopped unexpectedly")
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


def _child(work, queue_r: int, queue_w: int, errors_w: int, what: str) -> None:  # pragma: no cover - child process
    code = 1
    try:
        os.close(queue_w)  # or the queue would never end
        try:
            work(_blocks(queue_r))
            code = 0
        except Failure as exc:
            report = (exc.position, type(exc.error).__name__, str(exc.error))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, then exit
            report = (1 << 62, "", f"{what} worker failed: {type(exc).__name__}: {exc}")
        if code:
            _drain(queue_r)  # the others stop at their next block
            position, kind, message = report
            line = f"{position}\t{kind}\t" + message.replace("\n", " ").replace("\t", " ")[:400] + "\n"
            os.write(errors_w, line.encode("utf-8", "replace"))
    finally:
        os._exit(code)


def _blocks(queue_r: int) -> Iterator[int]:
    while token := os.read(queue_r, _TOKEN):
        yield int.from_bytes(token, "big")


class Job:
    """What a worker needs to know about its file: plain attributes, shared by fork."""

    def __init__(self, **fields) -> None:
        self.__dict__.update(fields)


def io_ranges(blocks: Iterator[int], block_chunks: int, n_chunks: int, io_chunks: int) -> Iterator[tuple[int, int]]:
    """``(first, stop)`` chunk ranges of at most ``io_chunks``, for every block taken from the queue.

    >>> list(io_ranges(iter([0, 2]), block_chunks=3, n_chunks=8, io_chunks=2))
    [(0, 2), (2, 3), (6, 8)]
    """
    for block in blocks:
        first = block * block_chunks
        end = min(n_chunks, first + block_chunks)
        for start in range(first, end, io_chunks):
            yield start, min(end, start + io_chunks)


def pread_exact(fd: int, view: memoryview, offset: int) -> bool:
    """Fill ``view`` from ``offset``; False if the file ends first."""
    while view:
        n = os.preadv(fd, [view], offset)
        if n == 0:
            return False
        view = view[n:]
        offset += n
    return True


def pwrite_all(fd: int, view: memoryview, offset: int) -> None:
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
