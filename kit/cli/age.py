"""``kit age``: keygen, encrypt and decrypt, mirroring the ``age`` command.

::

    kit age keygen [-o FILE]
    kit age encrypt (-r RECIPIENT | -R FILE)... [-o OUT] [IN]
    kit age encrypt -p [--passphrase-file FILE] [-o OUT] [IN]
    kit age decrypt [-i IDENTITY]... [--passphrase-file FILE] [--salvage] [-o OUT] [IN]

Standard input and output are used when no file is given. A passphrase is
read from the terminal (twice when encrypting) unless ``--passphrase-file``
names a file whose first line is the passphrase. An identity file that is
itself passphrase-protected (``age -p`` of a key file) is unlocked the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from pathlib import Path
from typing import BinaryIO, Iterator

from appliance.age.scrypt import DEFAULT_MAX_WORK_FACTOR, DEFAULT_WORK_FACTOR
from appliance.errors import KitError
from kit.cli.secret_input import read_secret

# The other age modules are imported by the command that needs them, so that
# ``kit age encrypt`` does not pay for the readers and salvage.

_COPY_BLOCK = 2 * 65536


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("age", help="encrypt and decrypt age files (like the age command)")
    commands = parser.add_subparsers(dest="age_command", metavar="ACTION", required=True)

    keygen = commands.add_parser("keygen", help="generate an identity (private key)")
    keygen.add_argument("-o", "--output", help="write the identity to FILE (mode 0600; must not exist)")
    keygen.set_defaults(func=_keygen)

    enc = commands.add_parser("encrypt", help="encrypt to recipients or a passphrase")
    enc.add_argument("-r", "--recipient", action="append", default=[], help="an age1… recipient (repeatable)")
    enc.add_argument("-R", "--recipients-file", action="append", default=[], help="a recipients file (repeatable)")
    enc.add_argument("-p", "--passphrase", action="store_true", help="encrypt with a passphrase")
    enc.add_argument("--passphrase-file", help="read the passphrase from the first line of FILE")
    enc.add_argument("--work-factor", type=int, default=DEFAULT_WORK_FACTOR, help=argparse.SUPPRESS)
    enc.add_argument("-o", "--output", help="output file (default: standard output)")
    enc.add_argument("input", nargs="?", help="input file (default: standard input)")
    enc.set_defaults(func=_encrypt)

    dec = commands.add_parser("decrypt", help="decrypt with identities or a passphrase")
    dec.add_argument("-i", "--identity", action="append", default=[], help="an identity file (repeatable)")
    dec.add_argument("--passphrase-file", help="read the passphrase from the first line of FILE")
    dec.add_argument(
        "--max-work-factor", type=int, default=DEFAULT_MAX_WORK_FACTOR,
        help=f"highest scrypt work factor accepted (default {DEFAULT_MAX_WORK_FACTOR})",
    )
    dec.add_argument("--salvage", action="store_true", help="recover the authenticated part of a cut-off file")
    dec.add_argument("-o", "--output", help="output file (default: standard output)")
    dec.add_argument("input", nargs="?", help="input file (default: standard input)")
    dec.set_defaults(func=_decrypt)


def _keygen(args: argparse.Namespace) -> int:
    from appliance.age.keys import generate_identity
    from appliance.age.wrapped import identity_file_text

    identity = generate_identity()
    text = identity_file_text(identity)
    if args.output:
        try:
            fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KitError(f"{args.output} already exists; not overwriting a key") from None
        except OSError as exc:
            raise KitError(f"cannot create {args.output}: {exc.strerror}") from None
        with os.fdopen(fd, "w") as f:
            f.write(text)
        print(f"Public key: {identity.recipient}", file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0


@contextlib.contextmanager
def _input(path: str | None) -> Iterator[BinaryIO]:
    """Unbuffered input: reads are already 128 KiB blocks, another buffer
    would only add a copy."""
    if not path or path == "-":
        with open(sys.stdin.fileno(), "rb", buffering=0, closefd=False) as f:
            yield f
        return
    try:
        f = open(path, "rb", buffering=0)
    except OSError as exc:
        raise KitError(f"cannot open {path}: {exc.strerror}") from None
    with f:
        yield f


class _Prefixed(io.RawIOBase):
    """``stream`` with ``head`` (already read from it) put back in front."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        return self._stream.readinto(buffer)


def _read_head(stream: BinaryIO, size: int) -> bytes:
    head = b""
    while len(head) < size:
        block = stream.read(size - len(head))
        if not block:
            break
        head += block
    return head


@contextlib.contextmanager
def _output(path: str | None, binary_age: bool) -> Iterator[BinaryIO]:
    """Yield the output; a file we created is removed again if anything fails."""
    if not path or path == "-":
        if binary_age and sys.stdout.isatty():
            raise KitError("refusing to write binary age data to a terminal; use -o FILE")
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    if os.path.exists(path) and not os.path.isfile(path):
        # A device or pipe (e.g. /dev/null): write to it, never remove it.
        try:
            with open(path, "wb") as f:
                yield f
        except OSError as exc:
            raise KitError(f"cannot write {path}: {exc.strerror}") from None
        return
    try:
        f = open(path, "xb")
    except FileExistsError:
        raise KitError(f"{path} already exists; not overwriting it") from None
    except OSError as exc:
        raise KitError(f"cannot create {path}: {exc.strerror}") from None
    ok = False
    try:
        with f:
            yield f
        ok = True
    finally:
        if not ok:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _copy(src: BinaryIO, dst: BinaryIO) -> None:
    from appliance.age.stream import page_aligned_buffer

    view = page_aligned_buffer(_COPY_BLOCK)
    while True:
        try:
            n = src.readinto(view)
        except OSError as exc:
            raise KitError(f"cannot read input: {exc.strerror or exc}") from None
        if not n:
            return
        try:
            dst.write(view[:n])
        except OSError as exc:
            raise KitError(f"cannot write output: {exc.strerror or exc}") from None


def _filenos(src: BinaryIO, dst: BinaryIO) -> tuple[int, int] | None:
    try:
        return src.fileno(), dst.fileno()
    except (OSError, ValueError, AttributeError):  # e.g. in-memory streams
        return None


def _encrypt(args: argparse.Namespace) -> int:
    from appliance.age.keyfiles import read_recipients
    from appliance.age.keys import parse_recipient
    from appliance.age.parallel_encrypt import EncryptFailed, encrypt_file, parallel_size
    from appliance.age.scrypt import ScryptRecipient
    from appliance.age.writer import Encryptor

    recipients: list = [parse_recipient(r) for r in args.recipient]
    for path in args.recipients_file:
        recipients += read_recipients(Path(path))
    if args.passphrase or args.passphrase_file:
        if recipients:
            raise KitError("-p/--passphrase cannot be combined with recipients")
        recipients = [ScryptRecipient(read_secret(args.passphrase_file, "Enter passphrase"), args.work_factor)]
    if not recipients:
        raise KitError("no recipients: give -r RECIPIENT, -R FILE or -p")
    with _input(args.input) as src, _output(args.output, binary_age=True) as dst:
        fds = _filenos(src, dst)
        if fds is not None and parallel_size(*fds) is not None:
            # Regular files: several processes seal chunks at known offsets.
            try:
                dst.flush()
                encrypt_file(*fds, recipients)
            except EncryptFailed as exc:
                raise KitError(str(exc)) from None
            except OSError as exc:
                raise KitError(f"cannot write output: {exc.strerror or exc}") from None
            return 0
        try:
            with Encryptor(dst, recipients) as writer:
                _copy(src, writer)
        except OSError as exc:
            # The final chunk or header could not be written (e.g. disk full).
            raise KitError(f"cannot write output: {exc.strerror or exc}") from None
    return 0


def _identities(args: argparse.Namespace) -> list:
    from appliance.age.keyfiles import read_identities

    identities: list = []
    for path in args.identity:
        try:
            head = Path(path).read_bytes()[:32]
        except OSError as exc:
            raise KitError(f"cannot read identity file {path}: {exc.strerror}") from None
        if head.startswith(b"age-encryption.org/v1"):
            from appliance.age.wrapped import unwrap_identities

            passphrase = read_secret(args.passphrase_file, "Enter passphrase", confirm=False)
            identities += unwrap_identities(Path(path).read_bytes(), passphrase, args.max_work_factor)
        else:
            identities += read_identities(Path(path))
    return identities


def _peek(stream: BinaryIO, size: int) -> tuple[bytes, BinaryIO]:
    """The first ``size`` bytes, and a stream that still starts with them
    (the same one, rewound, if it can seek: it keeps its file descriptor)."""
    if stream.seekable():
        at = stream.tell()
        head = _read_head(stream, size)
        stream.seek(at)
        return head, stream
    head = _read_head(stream, size)
    return head, _Prefixed(head, stream)


def _decrypt(args: argparse.Namespace) -> int:
    from appliance.age.errors import AgeError
    from appliance.age.parallel_decrypt import open_file
    from appliance.age.scrypt import ScryptIdentity

    identities = _identities(args)
    with _input(args.input) as src:
        if not identities:
            # Like age -d without -i: the file must be passphrase-encrypted.
            head, src = _peek(src, 256)
            if head and b"\n-> scrypt " not in head:
                raise KitError("no identities given (-i FILE) and the file is not passphrase-encrypted")
            passphrase = read_secret(args.passphrase_file, "Enter passphrase", confirm=False)
            identities = [ScryptIdentity(passphrase, args.max_work_factor)]
        if args.salvage:
            from appliance.age.salvaging import salvage

            with _output(args.output, binary_age=False) as dst:
                report = salvage(src, identities, dst)
            print(f"kit: {report}", file=sys.stderr)
            return 0 if report.complete else 3
        # The header is checked before an output file is created.
        src_fd = _fileno(src)
        if src_fd is not None:
            opened, plain = open_file(src_fd, identities), None
        else:
            from appliance.age.reader import Decryptor

            opened, plain = None, Decryptor(src, identities)
        with _output(args.output, binary_age=False) as dst:
            dst_fd = _fileno(dst)
            try:
                if opened is not None and dst_fd is not None:
                    # Regular files: several processes open the chunks at
                    # known offsets, and nothing is kept unless all of them
                    # authenticate; pipes and terminals get each chunk as it
                    # authenticates.
                    dst.flush()
                    opened.decrypt_to(dst_fd)
                else:
                    _copy(plain if plain is not None else opened.reader(), dst)
            except AgeError as exc:
                if args.output and os.path.isfile(args.output):
                    # _output removes the file it created (not a device such as /dev/null).
                    raise KitError(f"{exc}; {args.output} removed") from None
                raise
    return 0


def _fileno(stream: BinaryIO) -> int | None:
    try:
        return stream.fileno()
    except (OSError, ValueError, AttributeError):  # e.g. in-memory streams
        return None
