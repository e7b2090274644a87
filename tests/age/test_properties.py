"""Property tests (hypothesis): random access, tampering, hostile headers."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance import age
from appliance.age.header import parse_header

from .helpers import encrypt_bytes

IDENTITY = age.generate_identity()
PLAINTEXTS = {size: os.urandom(size) for size in (0, 1, 65536, 3 * 65536 + 123)}
FILES = {size: encrypt_bytes(p, [IDENTITY.recipient]) for size, p in PLAINTEXTS.items()}
SMALL_PLAIN = os.urandom(70_000)  # two chunks
SMALL_FILE = encrypt_bytes(SMALL_PLAIN, [IDENTITY.recipient])

DOCUMENTED = (age.HeaderError, age.HMACError, age.NoIdentityMatch, age.PayloadError)

ops = st.lists(
    st.one_of(
        st.tuples(st.just("seek"), st.integers(-300_000, 300_000), st.sampled_from([0, 1, 2])),
        st.tuples(st.just("read"), st.integers(-1, 200_000), st.just(0)),
        st.tuples(st.just("readinto"), st.integers(0, 140_000), st.just(0)),
    ),
    max_size=12,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.sampled_from(sorted(PLAINTEXTS)), sequence=ops, cache=st.integers(1, 4))
def test_random_access_matches_plaintext(size, sequence, cache):
    model = io.BytesIO(PLAINTEXTS[size])
    reader = age.open_random_access(io.BytesIO(FILES[size]), [IDENTITY], cache_chunks=cache)
    assert reader.size == size
    for op, a, whence in sequence:
        if op == "seek":
            target = a + (0, model.tell(), size)[whence]
            if target < 0:
                # Like a regular file (which raises OSError EINVAL), unlike BytesIO (clamps).
                with pytest.raises(ValueError):
                    reader.seek(a, whence)
                continue
            assert reader.seek(a, whence) == model.seek(target) == target
        elif op == "read":
            assert reader.read(a) == model.read(a)
        else:
            buf, want = bytearray(a), bytearray(a)
            assert reader.readinto(buf) == model.readinto(want)
            assert buf == want
        assert reader.tell() == model.tell()


@settings(max_examples=120, deadline=None)
@given(position=st.integers(0, len(SMALL_FILE) - 1), mask=st.integers(1, 255))
def test_flipping_any_byte_fails_cleanly(position, mask):
    tampered = bytearray(SMALL_FILE)
    tampered[position] ^= mask
    with pytest.raises(DOCUMENTED):
        age.Decryptor(io.BytesIO(bytes(tampered)), [IDENTITY]).read()
    with pytest.raises(DOCUMENTED):
        age.open_random_access(io.BytesIO(bytes(tampered)), [IDENTITY]).read()


@settings(max_examples=120, deadline=None)
@given(cut=st.integers(0, len(SMALL_FILE) - 1))
def test_truncation_anywhere_fails_cleanly(cut):
    with pytest.raises(DOCUMENTED):
        age.Decryptor(io.BytesIO(SMALL_FILE[:cut]), [IDENTITY]).read()
    with pytest.raises(DOCUMENTED):
        age.open_random_access(io.BytesIO(SMALL_FILE[:cut]), [IDENTITY])


_HEADER_END = SMALL_FILE.index(b"\n---") + 49


@st.composite
def header_like(draw):
    """Arbitrary bytes, or a real header with random edits (reaches deeper states)."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=400))
    data = bytearray(SMALL_FILE[:_HEADER_END])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from([b" ", b"\n", b"\r", b"-> ", b"---", b"A", b"=", b"\x00", b"\xff"]))
        if kind == "insert":
            data[at:at] = piece
        elif kind == "delete":
            del data[at : at + len(piece)]
        else:
            data[at : at + len(piece)] = piece
    return bytes(data)


@settings(max_examples=200, deadline=None)
@given(data=header_like())
def test_header_parser_raises_only_documented_errors(data):
    try:
        header, rest = parse_header(io.BytesIO(data))
    except age.HeaderError:
        return
    assert header.stanzas and len(header.mac) == 32
    assert data.startswith(header.mac_input) and data[header.size :] == rest


@settings(max_examples=150, deadline=None)
@given(data=header_like())
def test_decryptor_raises_only_documented_errors(data):
    try:
        age.Decryptor(io.BytesIO(data + SMALL_FILE[_HEADER_END:]), [IDENTITY]).read()
    except DOCUMENTED:
        pass
