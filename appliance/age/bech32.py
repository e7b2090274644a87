"""Bech32 (BIP 173) as age uses it for ``age1…`` and ``AGE-SECRET-KEY-1…``.

Unlike BIP 173, age places no 90-character limit on the string. A string must be
all lowercase or all uppercase; recipients are written in lowercase, identities
in uppercase.

>>> s = encode("age", bytes(32))
>>> s[:8]
'age1qqqq'
>>> decode(s) == ("age", bytes(32))
True
>>> decode(s.upper())[0]
'age'
"""

from __future__ import annotations

from appliance.age.errors import KeyFormatError

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_REV = {c: i for i, c in enumerate(CHARSET)}
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GEN[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        raise KeyFormatError("invalid Bech32 padding")
    return out


def encode(hrp: str, data: bytes, upper: bool = False) -> str:
    """Encode ``data`` under the human-readable prefix ``hrp``."""
    hrp = hrp.lower()
    values = _convert_bits(data, 8, 5, pad=True)
    polymod = _polymod(_hrp_expand(hrp) + values + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    s = hrp + "1" + "".join(CHARSET[v] for v in values + checksum)
    return s.upper() if upper else s


def decode(s: str) -> tuple[str, bytes]:
    """Return ``(hrp, data)``; the hrp is returned in lowercase.

    Raises :class:`KeyFormatError` for mixed case, bad characters or a wrong
    checksum.
    """
    if s.lower() != s and s.upper() != s:
        raise KeyFormatError("mixed case in Bech32 string")
    if any(ord(c) < 33 or ord(c) > 126 for c in s):
        raise KeyFormatError("invalid character in Bech32 string")
    s = s.lower()
    pos = s.rfind("1")
    if pos < 1 or pos + 7 > len(s):
        raise KeyFormatError("separator '1' at invalid position in Bech32 string")
    hrp, rest = s[:pos], s[pos + 1 :]
    try:
        values = [_REV[c] for c in rest]
    except KeyError:
        raise KeyFormatError("invalid character in Bech32 data") from None
    if _polymod(_hrp_expand(hrp) + values) != 1:
        raise KeyFormatError("invalid Bech32 checksum")
    return hrp, bytes(_convert_bits(values[:-6], 5, 8, pad=False))
