"""A helper thread for sealing chunks while the caller keeps writing.

pyca ``cryptography`` releases the GIL inside ChaCha20-Poly1305, so the
encryptor can seal one batch of chunks on a helper thread while the calling
thread copies in the next batch and writes out the previous one. On a
single-core machine there are no helpers and everything runs inline.

>>> submit(sum, [1, 2, 3]).result()
6
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")

#: Helper threads: one fewer than the cores (the caller's thread is busy too).
HELPERS = max(0, min(3, (os.cpu_count() or 1) - 1))

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=max(1, HELPERS), thread_name_prefix="age-seal")
        return _executor


def submit(fn: Callable[..., T], *args) -> "Future[T]":
    """Run ``fn(*args)`` on a helper thread."""
    return _pool().submit(fn, *args)
