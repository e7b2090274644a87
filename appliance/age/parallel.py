"""Spreading independent chunk operations over the CPU cores.

STREAM chunks are independent once their nonces are fixed, and pyca
``cryptography`` releases the GIL inside ChaCha20-Poly1305, so a batch of
chunks can be sealed or opened by the calling thread plus helper threads. The
results come back in order; memory use does not change (every chunk still
goes to its own slice of one preallocated buffer).

>>> run_split(lambda x: x * 2, [(1,), (2,), (3,), (4,), (5,)])
[2, 4, 6, 8, 10]
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")

#: Below this many items, a single thread is faster than handing work over.
MIN_SPLIT = 2
HELPERS = max(0, min(3, (os.cpu_count() or 1) - 1))

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=HELPERS, thread_name_prefix="age-chunks")
        return _executor


def run_split(fn: Callable[..., T], items: Sequence[tuple]) -> list[T]:
    """``[fn(*item) for item in items]``, split over this thread and the helpers."""
    if HELPERS == 0 or len(items) < MIN_SPLIT:
        return [fn(*item) for item in items]
    parts = min(HELPERS + 1, len(items) // 2)
    size = -(-len(items) // parts)
    slices = [items[i : i + size] for i in range(0, len(items), size)]
    futures = [_pool().submit(_run_all, fn, part) for part in slices[1:]]
    error: BaseException | None = None
    out: list[T] = []
    try:
        out = _run_all(fn, slices[0])
    except BaseException as exc:
        error = exc
    # Always wait: the helpers write into buffers the caller is about to reuse.
    for future in futures:
        try:
            out += future.result()
        except BaseException as exc:
            error = error or exc
    if error is not None:
        raise error
    return out


def _run_all(fn: Callable[..., T], items: Sequence[tuple]) -> list[T]:
    return [fn(*item) for item in items]
