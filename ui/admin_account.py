"""The admin account's password (scrypt hash in ``DATA/admin-password``).

The admin manages kit settings and people. Their password opens nothing
cryptographic: it is only a gate to those pages.
"""

from __future__ import annotations

from appliance.durable import write_file

import hashlib
import hmac
import secrets
from pathlib import Path

N, R, P = 2**14, 8, 1


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=N, r=R, p=P, dklen=32)


class AdminAccount:
    """
    >>> import tempfile, pathlib
    >>> a = AdminAccount(pathlib.Path(tempfile.mkdtemp()) / "admin-password")
    >>> a.set_password("correct horse"); a.check("correct horse"), a.check("wrong")
    (True, False)
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def is_set(self) -> bool:
        return self.path.exists()

    def set_password(self, password: str) -> None:
        if len(password) < 8:
            from appliance.errors import KitError

            raise KitError("the admin password needs at least 8 characters")
        salt = secrets.token_bytes(16)
        line = f"scrypt${N}${R}${P}${salt.hex()}${_hash(password, salt).hex()}\n"
        write_file(self.path, line, 0o600)

    def check(self, password: str) -> bool:
        if not self.path.exists():
            return False
        try:
            _, n, r, p, salt, digest = self.path.read_text().strip().split("$")
            got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                 dklen=32)
        except (ValueError, OSError):
            return False
        return hmac.compare_digest(got.hex(), digest)
