"""Reading ``lessonkit.toml``, the optional provisioning file on the boot partition.

IT writes this file onto the FAT boot partition after flashing (any laptop can
edit it there). Everything in it is optional; a kit without it still
provisions itself and works offline, it just has no school server to sync to.

>>> cfg = parse_provisioning_text('''
... [school_server]
... address = "sync.school.example:2222"
... host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMmyYk6wRlGs+UwNxE2fD7eoobRA2gp9uZwdgwQNnP3k"
... [hotspot]
... country = "be"
... ''')
>>> cfg.server.host, cfg.server.port, cfg.hotspot_country
('sync.school.example', 2222, 'BE')
>>> parse_provisioning_text('[hotspot]\\ncountry = "Nederland"\\n')
Traceback (most recent call last):
...
appliance.provisioning.config.ProvisioningFileError: lessonkit.toml: [hotspot] country must be a two-letter country code such as NL, got 'Nederland'
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import KitError

FILE_NAME = "lessonkit.toml"
DEFAULT_COUNTRY = "NL"
DEFAULT_SERVER_USER = "lessonkit"

_HOST_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$")
_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# crypt(3) hashes that Debian's PAM accepts: yescrypt, SHA-512, SHA-256, bcrypt.
_HASH_RE = re.compile(r"^\$(y|6|5|2[aby])\$[./A-Za-z0-9$=,]{8,}$")
_HOST_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")


class ProvisioningFileError(KitError):
    """``lessonkit.toml`` is present but wrong; first boot stops without provisioning."""


@dataclass(frozen=True)
class SchoolServer:
    host: str
    port: int
    user: str
    host_key: str  # one OpenSSH public key line: "<type> <base64>"

    def known_hosts_line(self) -> str:
        """The line OpenSSH's ``known_hosts`` needs to trust this server.

        >>> SchoolServer("s.example", 22, "lessonkit", "ssh-ed25519 AAAA").known_hosts_line()
        's.example ssh-ed25519 AAAA'
        >>> SchoolServer("s.example", 2222, "lessonkit", "ssh-ed25519 AAAA").known_hosts_line()
        '[s.example]:2222 ssh-ed25519 AAAA'
        """
        name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        return f"{name} {self.host_key}"


@dataclass(frozen=True)
class ProvisioningConfig:
    server: SchoolServer | None = None
    admin_password_hash: str | None = None
    admin_authorized_keys: tuple[str, ...] = ()
    hotspot_country: str = DEFAULT_COUNTRY


def _fail(message: str) -> ProvisioningFileError:
    return ProvisioningFileError(f"{FILE_NAME}: {message}")


def _table(doc: dict, name: str) -> dict:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise _fail(f"[{name}] must be a table")
    return value


def _string(table: dict, section: str, key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"[{section}] {key} must be a non-empty string")
    return value.strip()


def _parse_address(address: str) -> tuple[str, int]:
    if address.startswith("["):  # [IPv6]:port
        host, sep, rest = address[1:].partition("]")
        if not sep or not re.fullmatch(r"[0-9A-Fa-f:.]+", host) or (rest and not rest.startswith(":")):
            raise _fail(f"[school_server] address is not host or host:port: {address!r}")
        port_text = rest[1:] if rest else "22"
    elif address.count(":") == 1:
        host, port_text = address.split(":")
    else:
        host, port_text = address, "22"
        if not _HOST_RE.match(host):
            raise _fail(f"[school_server] address is not a host name or IP address: {address!r}")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise _fail(f"[school_server] address has an invalid port: {address!r}")
    if not address.startswith("[") and not _HOST_RE.match(host):
        raise _fail(f"[school_server] address is not a host name or IP address: {address!r}")
    return host, int(port_text)


def _check_public_key(key: str, where: str) -> str:
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    parts = key.split()
    if len(parts) < 2 or parts[0] not in _HOST_KEY_TYPES:
        raise _fail(f"{where} must be an OpenSSH public key line such as 'ssh-ed25519 AAAA…'")
    line = f"{parts[0]} {parts[1]}"
    try:
        load_ssh_public_key(line.encode("ascii"))
    except (ValueError, UnicodeError):
        raise _fail(f"{where} is not a valid OpenSSH public key") from None
    return line


def parse_provisioning_text(text: str) -> ProvisioningConfig:
    """Validate the provisioning file; raise :class:`ProvisioningFileError` naming the fault."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(f"not valid TOML ({exc})") from None
    known = {"school_server", "admin", "hotspot"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise _fail(f"unknown section or key {unknown[0]!r} (known: {', '.join(sorted(known))})")

    server = None
    srv = _table(doc, "school_server")
    if srv:
        address = _string(srv, "school_server", "address")
        host_key = _string(srv, "school_server", "host_key")
        if address is None or host_key is None:
            raise _fail("[school_server] needs both address and host_key")
        host, port = _parse_address(address)
        user = _string(srv, "school_server", "user") or DEFAULT_SERVER_USER
        if not _USER_RE.match(user):
            raise _fail(f"[school_server] user is not a valid user name: {user!r}")
        server = SchoolServer(host, port, user, _check_public_key(host_key, "[school_server] host_key"))

    admin = _table(doc, "admin")
    admin_hash = _string(admin, "admin", "password_hash")
    keys = admin.get("authorized_keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise _fail("[admin] authorized_keys must be a list of OpenSSH public key lines")
    authorized = tuple(_check_public_key(k, "[admin] authorized_keys") for k in keys)
    if admin_hash is not None and not _HASH_RE.match(admin_hash):
        raise _fail(
            "[admin] password_hash must be a crypt hash (make one with: mkpasswd -m yescrypt), "
            "never the password itself"
        )

    country = _string(_table(doc, "hotspot"), "hotspot", "country") or DEFAULT_COUNTRY
    if not re.fullmatch(r"[A-Za-z]{2}", country):
        raise _fail(f"[hotspot] country must be a two-letter country code such as NL, got {country!r}")
    return ProvisioningConfig(
        server=server,
        admin_password_hash=admin_hash,
        admin_authorized_keys=authorized,
        hotspot_country=country.upper(),
    )


def read_provisioning_file(boot_dir: Path) -> ProvisioningConfig:
    """The provisioning file on the boot partition, or defaults when there is none."""
    path = Path(boot_dir) / FILE_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ProvisioningConfig()
    except OSError as exc:
        raise _fail(f"cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")  # Windows editors add a BOM
    except UnicodeDecodeError:
        raise _fail("is not UTF-8 text") from None
    return parse_provisioning_text(text)
