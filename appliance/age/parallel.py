"""Helper threads for sealing and opening chunks while the caller goes on.

pyca ``cryptography`` releases the GIL inside ChaCha20-Poly1305, so the
encryptor can seal one batch of chunks on a helper thread while the calling
thread copies in the next batch and writes out the previous one, and the
decryptor can read and open the next batch while the caller consumes one.
On a single-core machine there are no helpers and everything runs inline.

>>> submit(sum, [1, 2, 3]).result()
6
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Future
from typing import Callable, TypeVar

T = TypeVar("T")

#: Helper threads: one fewer than the cores (the caller's thread is busy too).
HELPERS = max(0, min(3, (os.cpu_count() or 1) - 1))

_queue: "queue.SimpleQueue[tuple[Future, Callable, tuple]]" = queue.SimpleQueue()
_workers: list[threading.Thread] = []
_lock = threading.Lock()


def _work() -> None:
    while True:
        future, fn, args = _queue.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(fn(*args))
        except BaseException as exc:
            future.set_exception(exc)


def submit(fn: Callable[..., T], *args) -> "Future[T]":
    """Run ``fn(*args)`` on a helper thread.

    The helpers are daemon threads: a helper blocked reading a pipe (the
    decryptor reads ahead) must not keep ``kit`` alive after Ctrl+C, which a
    ``ThreadPoolExecutor`` would, as it joins its threads at exit.
    """
    with _lock:
        if not _workers:
            for n in range(max(1, HELPERS)):
                thread = threading.Thread(target=_work, name=f"age-helper-{n}", daemon=True)
                thread.start()
                _workers.append(thread)
    future: Future = Future()
    _queue.put((future, fn, args))
    return future
