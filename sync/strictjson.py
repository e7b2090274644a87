"""JSON as a hostile peer may send it, read the I-JSON way (RFC 7493).

``json.loads`` accepts things a batch must never hold and fails on others in
ways a caller does not expect: ``NaN`` and ``Infinity`` (not JSON at all),
duplicate member names (the last silently wins, so two readers may disagree
about what a line says), integers of thousands of digits (``ValueError``
from the int-conversion limit, not ``JSONDecodeError``), lone surrogates
(decoded fine, then ``UnicodeEncodeError`` wherever the text is written) and
deep nesting (``RecursionError``). :func:`loads` turns every one of these into
a :class:`Refused` with a one-line reason.

>>> loads('{"a": 1, "b": [true, null, 2.5]}')
{'a': 1, 'b': [True, None, 2.5]}
>>> loads('{"a": 1, "a": 2}')
Traceback (most recent call last):
sync.strictjson.Refused: duplicate member name 'a'
>>> loads('{"x": NaN}')
Traceback (most recent call last):
sync.strictjson.Refused: NaN is not a JSON number
>>> loads('[' * 5000 + ']' * 5000)
Traceback (most recent call last):
sync.strictjson.Refused: nested too deeply
>>> loads('9' * 30)
Traceback (most recent call last):
sync.strictjson.Refused: number 999999999999999… has more than 16 digits
>>> loads('1e400')
Traceback (most recent call last):
sync.strictjson.Refused: number 1e400 is out of range
>>> loads('{"\\\\ud800": 1}')
Traceback (most recent call last):
sync.strictjson.Refused: a string holds a lone surrogate (not Unicode text)
"""

from __future__ import annotations

import json
import math
from typing import Any

# I-JSON: integers beyond +-2**53 do not survive a round trip through a
# double; 16 digits is the first length that can exceed it.
MAX_INT_DIGITS = 16
MAX_NUMBER_CHARS = 32


class Refused(ValueError):
    """Not I-JSON; the message is one line and says why."""


def _short(text: str) -> str:
    return text if len(text) <= 15 else text[:15] + "…"


def _parse_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > MAX_INT_DIGITS:
        raise Refused(f"number {_short(text)} has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise Refused(f"number {_short(text)} is longer than {MAX_NUMBER_CHARS} characters")
    value = float(text)
    if not math.isfinite(value):
        raise Refused(f"number {_short(text)} is out of range")
    return value


def _parse_constant(name: str) -> Any:
    raise Refused(f"{name} is not a JSON number")


def _text_ok(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise Refused(f"duplicate member name {_short(key)!r}")
        if not _text_ok(key) or not _text_ok(value) or (
                isinstance(value, list) and not all(_text_ok(v) for v in value)):
            raise Refused("a string holds a lone surrogate (not Unicode text)")
        result[key] = value
    return result


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_int=_parse_int, parse_float=_parse_float,
                            parse_constant=_parse_constant)


def loads(text: str) -> Any:
    """Parse one JSON text strictly; raise :class:`Refused` with the reason."""
    try:
        value = _DECODER.decode(text)
    except Refused:
        raise
    except RecursionError:
        raise Refused("nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise Refused(f"{exc.msg} (column {exc.colno})") from None
    except ValueError as exc:  # e.g. the interpreter's own int-conversion limit
        raise Refused(str(exc).splitlines()[0][:120]) from None
    if not _text_ok(value):
        raise Refused("a string holds a lone surrogate (not Unicode text)")
    return value
