"""The age v1 header: stanzas, parsing and encoding.

A header is the version line, one or more stanzas and the MAC line::

    age-encryption.org/v1
    -> X25519 <base64 share>
    <base64 body, wrapped at 64 columns, last line shorter than 64>
    --- <base64 HMAC-SHA256>

Parsing is strict (canonical base64, LF only, bounded size) so that a file has
exactly one valid encoding; anything else raises :class:`HeaderError`.
"""

from __future__ import annotations

from typing import BinaryIO

from appliance.age.errors import HeaderError, UnsupportedVersion
from appliance.age.primitives import b64decode, b64encode

VERSION_LINE = b"age-encryption.org/v1"
#: A real header is a few hundred bytes (a few KiB with post-quantum stanzas);
#: the bound keeps a hostile stream from growing memory without limit.
MAX_HEADER_SIZE = 1 << 20
_COLUMNS = 64


# Plain classes rather than dataclasses: every ``kit age`` command parses or
# writes a header, and importing dataclasses (and inspect) costs it ~10 ms.


class Stanza:
    """One recipient stanza: a type, its arguments and a binary body."""

    __slots__ = ("type", "args", "body")

    def __init__(self, type: str, args: list[str] | None = None, body: bytes = b"") -> None:
        self.type = type
        self.args = [] if args is None else args
        self.body = body

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Stanza):
            return NotImplemented
        return (self.type, self.args, self.body) == (other.type, other.args, other.body)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Stanza(type={self.type!r}, args={self.args!r}, body={self.body!r})"

    def encode(self) -> bytes:
        line = " ".join(["->", self.type, *self.args]).encode("ascii") + b"\n"
        text = b64encode(self.body).encode("ascii")
        # The body always ends with a line shorter than 64 columns, possibly empty.
        lines = [text[i : i + _COLUMNS] for i in range(0, len(text) - len(text) % _COLUMNS, _COLUMNS)]
        lines.append(text[len(text) - len(text) % _COLUMNS :])
        return line + b"".join(part + b"\n" for part in lines)


class Header:
    """A parsed header.

    ``mac_input`` is the header up to and including ``---`` (what the MAC
    covers); ``size`` is the length of the whole header including the MAC line.
    """

    __slots__ = ("stanzas", "mac", "mac_input", "size")

    def __init__(self, stanzas: list[Stanza], mac: bytes, mac_input: bytes, size: int) -> None:
        self.stanzas = stanzas
        self.mac = mac
        self.mac_input = mac_input
        self.size = size

    def __repr__(self) -> str:
        return f"Header(stanzas={self.stanzas!r}, size={self.size})"


def encode_header_without_mac(stanzas: list[Stanza]) -> bytes:
    """The bytes the MAC covers: version line, stanzas and ``---``."""
    return VERSION_LINE + b"\n" + b"".join(s.encode() for s in stanzas) + b"---"


class _Lines:
    """Reads LF-terminated lines from a stream, remembering what came after."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.buf = bytearray()
        self.pos = 0

    def next(self) -> bytes:
        while True:
            end = self.buf.find(b"\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos : end])
                self.pos = end + 1
                return line
            if len(self.buf) > MAX_HEADER_SIZE:
                raise HeaderError("header is too long (more than 1 MiB)")
            block = self.stream.read(4096)
            if not block:
                if not self.buf:
                    raise HeaderError("file is empty, not an age file")
                head = bytes(self.buf[: len(VERSION_LINE)])
                if self.pos == 0 and not VERSION_LINE.startswith(head):
                    raise HeaderError("not an age file (no age-encryption.org/v1 line)")
                raise HeaderError("file ends inside the header")
            self.buf += block


def _arg(raw: bytes) -> str:
    if not raw:
        raise HeaderError("malformed stanza: empty argument")
    if any(c < 33 or c > 126 for c in raw):
        raise HeaderError("malformed stanza: invalid character in argument")
    return raw.decode("ascii")


def parse_header(stream: BinaryIO) -> tuple[Header, bytes]:
    """Read a header from ``stream``.

    Returns the header and the bytes already read past it (the start of the
    payload), so the stream need not be seekable.
    """
    lines = _Lines(stream)
    first = lines.next()
    if first != VERSION_LINE:
        if first.rstrip(b"\r") == VERSION_LINE:
            raise HeaderError("header lines must end in LF, not CRLF")
        if first.startswith(b"age-encryption.org/"):
            raise UnsupportedVersion("unsupported age format version " + repr(first.decode("ascii", "replace"))[1:-1])
        if first.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----"):
            raise HeaderError("file is armored (ASCII); only binary age files are supported")
        raise HeaderError("not an age file (no age-encryption.org/v1 line)")

    stanzas: list[Stanza] = []
    while True:
        start = lines.pos
        line = lines.next()
        if line.startswith(b"--- "):
            if not stanzas:
                raise HeaderError("header has no recipient stanzas")
            try:
                mac = b64decode(line[4:].decode("ascii"))
            except (ValueError, UnicodeDecodeError):
                raise HeaderError("malformed header MAC") from None
            if len(mac) != 32:
                raise HeaderError("header MAC has the wrong length")
            mac_input = bytes(lines.buf[: start + 3])
            return Header(stanzas, mac, mac_input, lines.pos), bytes(lines.buf[lines.pos :])
        if not line.startswith(b"-> "):
            raise HeaderError("malformed header: expected a stanza or the MAC line")
        args = [_arg(a) for a in line[3:].split(b" ")]
        body = []
        while True:
            text = lines.next()
            if len(text) > _COLUMNS:
                raise HeaderError("malformed stanza: body line longer than 64 columns")
            body.append(text)
            if len(text) < _COLUMNS:
                break
        try:
            data = b64decode(b"".join(body).decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            raise HeaderError("malformed stanza: invalid base64 body") from None
        stanzas.append(Stanza(args[0], args[1:], data))
