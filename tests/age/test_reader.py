"""The sequential Decryptor over streams that deliver ciphertext in odd pieces."""

from __future__ import annotations

import io
import os
import random

import pytest

from appliance import age
from appliance.age.stream import CHUNK_SIZE

from .helpers import encrypt_bytes

ME = age.generate_identity()


class Trickle(io.RawIOBase):
    """A pipe-like stream: each read returns an arbitrary, often tiny, amount."""

    def __init__(self, data: bytes, seed: int) -> None:
        self._data = memoryview(data)
        self._rng = random.Random(seed)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = min(len(buffer), len(self._data), self._rng.choice([1, 7, 15, 16, 17, 4096, 65536, 65553, 1 << 20]))
        buffer[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


class ReadOnly:
    """A stream with read() but no readinto()."""

    def __init__(self, data: bytes) -> None:
        self._f = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._f.read(n)


def _outcome(stream, reads: list[int]):
    got = bytearray()
    try:
        reader = age.Decryptor(stream, [ME])
        for size in reads:
            buf = bytearray(size)
            while n := reader.readinto(buf):
                got += buf[:n]
        return bytes(got)
    except age.AgeError as exc:
        return type(exc), str(exc), bytes(got)


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 5 * CHUNK_SIZE + 3, 9 * CHUNK_SIZE])
@pytest.mark.parametrize("seed", range(4))
def test_any_read_pattern_gives_the_same_plaintext_and_errors(size, seed):
    plain = os.urandom(size)
    data = encrypt_bytes(plain, [ME.recipient])
    damaged = {
        "good": data,
        "cut": data[: len(data) - 1 - seed * 1000],
        "flipped": data[:-40] + bytes([data[-40] ^ 1]) + data[-39:],
        "garbage": data + b"x" * (seed + 1),
    }
    rng = random.Random(seed)
    reads = [rng.choice([1, 100, CHUNK_SIZE - 1, CHUNK_SIZE, 2 * CHUNK_SIZE + 5, 1 << 20]) for _ in range(3)] + [1 << 20]
    for name, blob in damaged.items():
        expected = _outcome(io.BytesIO(blob), [1 << 20])
        assert _outcome(Trickle(blob, seed), reads) == expected, name
        assert _outcome(ReadOnly(blob), reads) == expected, name
    assert _outcome(Trickle(data, seed), reads) == plain
