"""Helpers for the age tests: the real age CLI and a pseudo-terminal driver."""

from __future__ import annotations

import errno
import io
import os
import pty
import re
import select
import shutil
import signal
import threading
import time

from appliance import age

AGE = shutil.which("age")
_PROMPT = re.compile(rb"[Pp]assphrase[^\n]*: ")


def require_age() -> str:
    # A missing age CLI is a broken set-up (make test installs it), not a skip.
    assert AGE, "the age CLI is not installed (make deps installs the Debian package 'age')"
    return AGE


def run_with_terminal(argv: list[str], answers: list[str], timeout: float = 120) -> tuple[int, bytes]:
    """Run ``argv`` on a pseudo-terminal, typing one answer per passphrase prompt.

    age reads passphrases from the terminal, never from stdin, so this is the
    only way to drive it as a person would.
    """
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    output = b""
    answered = 0
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                raise TimeoutError(f"{argv[0]} did not finish: {output!r}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            output += data
            while answered < len(answers) and len(_PROMPT.findall(output)) > answered:
                os.write(fd, answers[answered].encode() + b"\n")
                answered += 1
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output


def encrypt_bytes(data: bytes, recipients) -> bytes:
    out = io.BytesIO()
    with age.Encryptor(out, recipients) as w:
        w.write(data)
    return out.getvalue()


def decrypt_bytes(data: bytes, identities) -> bytes:
    return age.Decryptor(io.BytesIO(data), identities).read()


class FullDisk(io.RawIOBase):
    """A file that accepts ``room`` bytes, then fails like a full disk."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        # Like write(2): a short write while there is room, then ENOSPC.
        free = self.room - len(self.data)
        if free <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.data += bytes(b[:free])
        return min(free, len(b))


def threads_named(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def wait_for_no_thread(name: str, seconds: float = 10) -> bool:
    """Whether every thread called ``name`` has ended within ``seconds``."""
    deadline = time.monotonic() + seconds
    while threads_named(name) and time.monotonic() < deadline:
        time.sleep(0.01)
    return not threads_named(name)
