"""Real parts for the kit-certificate tests, on loopback only.

* :class:`Knot` — Knot DNS (``knotd``) authoritative for a kits zone, taking
  TSIG-signed RFC 2136 updates of TXT records (the ACL a school would use);
* :class:`Pebble` — Debian's ``pebble``, the ACME test CA, validating DNS-01
  against that Knot server (``-dnsserver``), with its HTTPS on a certificate
  from a throwaway test CA (Debian's package ships none);
* kit-side helpers: a real key and CSR, and a batch in the kit's inbox as
  rsync would leave it;
* :func:`verify_server_chain` — two real X.509 path verifiers
  (``cryptography``'s and ``openssl verify``), both enforcing name constraints.

Every process is started in its own session and stopped and waited for by
``stop()``; the fixtures call it in ``finally``.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sync import protocol
from sync.server import db

ZONE = "kits.school.test"
TSIG_NAME = "lessonkit-acme"
NOW = dt.datetime.now(dt.timezone.utc)


def need(tool: str, package: str) -> str:
    """The tool's path; a missing tool fails the test (make test installs it), never skips it."""
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if os.path.exists(f"/usr/sbin/{tool}") else None)
    if path is None:
        pytest.fail(f"{tool} is missing: make deps-system installs Debian's {package}")
    return path


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (DNS needs both)."""
    for _ in range(50):
        with socket.socket() as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


class Process:
    """A child process in its own session, with its output in a log file."""

    def __init__(self, workdir: Path, name: str) -> None:
        self.workdir, self.name = workdir, name
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / f"{name}.log"
        self._log = None

    def spawn(self, cmd: list[str], env: dict | None = None) -> None:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, env={**os.environ, **(env or {})}, cwd=self.workdir)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_until(self, ready, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}): {self.log()[-2000:]}")
            try:
                if ready():
                    return
            except Exception:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not {what} within {timeout:.0f} s: {self.log()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self._log is not None:
            self._log.close()
            self._log = None


class Knot(Process):
    """knotd authoritative for ``ZONE``; ``TSIG_NAME`` may update TXT records only."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, "knotd")
        self.port = free_port()
        self.secret = base64.b64encode(secrets.token_bytes(32)).decode()

    def start(self) -> "Knot":
        knotd = need("knotd", "knot")
        for d in ("run", "db", "zones"):
            (self.workdir / d).mkdir(exist_ok=True)
        (self.workdir / "zones" / f"{ZONE}.zone").write_text(
            f"$ORIGIN {ZONE}.\n$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\n")
        (self.workdir / "knot.conf").write_text(f"""\
server:
    rundir: "{self.workdir / 'run'}"
    listen: 127.0.0.1@{self.port}
database:
    storage: "{self.workdir / 'db'}"
key:
  - id: {TSIG_NAME}
    algorithm: hmac-sha256
    secret: {self.secret}
acl:
  - id: lessonkit_acme
    key: {TSIG_NAME}
    action: update
    update-type: [TXT]
zone:
  - domain: {ZONE}
    storage: "{self.workdir / 'zones'}"
    file: "{ZONE}.zone"
    acl: lessonkit_acme
log:
  - target: stderr
    any: info
""")
        self.spawn([knotd, "-c", str(self.workdir / "knot.conf")])
        self.wait_until(lambda: self.query(ZONE, "SOA"), "answer for its zone")
        return self

    def query(self, name: str, rdtype: str = "TXT") -> list[str]:
        """What knotd serves for ``name`` (TXT strings, or other records as text)."""
        response = dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=self.port, timeout=2)
        out = []
        for rrset in response.answer:
            for rdata in rrset:
                out.append(b"".join(rdata.strings).decode() if rrset.rdtype == dns.rdatatype.TXT else rdata.to_text())
        return out

    def secret_file(self, directory: Path) -> Path:
        """The secret as ``keymgr -t`` prints a Knot key (one of the formats acme setup reads)."""
        path = directory / "tsig.key"
        path.write_text(f"# lessonkit-acme\nkey:\n  - id: {TSIG_NAME}\n    algorithm: hmac-sha256\n"
                        f"    secret: {self.secret}\n")
        return path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class TestMinica:
    """A throwaway CA for pebble's own HTTPS listener (127.0.0.1)."""

    __test__ = False  # not a pytest class

    def __init__(self, workdir: Path) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        self.cert = (x509.CertificateBuilder().subject_name(_name("test minica")).issuer_name(_name("test minica"))
                     .public_key(key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(NOW - dt.timedelta(hours=1)).not_valid_after(NOW + dt.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                     .sign(key, hashes.SHA256()))
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(_name("test minica"))
                .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(NOW - dt.timedelta(hours=1)).not_valid_after(NOW + dt.timedelta(days=2))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        self.ca_pem = workdir / "minica.pem"
        self.cert_pem = workdir / "pebble-cert.pem"
        self.key_pem = workdir / "pebble-key.pem"
        self.ca_pem.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self.cert_pem.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        self.key_pem.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))


class Pebble(Process):
    def __init__(self, workdir: Path, dns_port: int) -> None:
        super().__init__(workdir, "pebble")
        self.dns_port = dns_port
        self.port, self.management_port = free_port(), free_port()
        self.minica = TestMinica(workdir)

    @property
    def directory(self) -> str:
        return f"https://127.0.0.1:{self.port}/dir"

    def start(self) -> "Pebble":
        pebble = need("pebble", "pebble")
        config = self.workdir / "pebble-config.json"
        config.write_text(json.dumps({"pebble": {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.management_port}",
            "certificate": str(self.minica.cert_pem), "privateKey": str(self.minica.key_pem),
            # Ports pebble would dial for http-01 / tls-alpn-01; only DNS-01 is used.
            "httpPort": free_port(), "tlsPort": free_port(),
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}))
        # No artificial validation delays, no random nonce rejections, and a
        # fresh authorisation for every order so every order does DNS-01.
        env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}
        self.spawn([pebble, "-config", str(config), "-dnsserver", f"127.0.0.1:{self.dns_port}"], env)
        self.wait_until(lambda: requests.get(self.directory, verify=str(self.minica.ca_pem), timeout=2).ok,
                        "serve its ACME directory")
        return self

    def root_pem(self) -> bytes:
        """Pebble's root, made anew at every start, from its management interface."""
        response = requests.get(f"https://127.0.0.1:{self.management_port}/roots/0",
                                verify=str(self.minica.ca_pem), timeout=5)
        response.raise_for_status()
        return response.content


# --- the kit's side -----------------------------------------------------------

def make_key(kind: str = "ec"):
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "rsa1024":
        return rsa.generate_private_key(65537, 1024)
    if kind == "rsa2048":
        return rsa.generate_private_key(65537, 2048)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(kind)


def make_csr(key, names: tuple[str, ...] = (), ca: bool = False) -> bytes:
    """A PKCS#10 request in DER, as the kit makes it (``names`` may ask for anything)."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        _name(names[0]) if names else x509.Name([]))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.DER)


def b64(der: bytes) -> str:
    return base64.b64encode(der).decode()


def next_seq(layout, kit_id: str) -> int:
    conn = db.connect(layout.db)
    try:
        return conn.execute("SELECT applied_through FROM kits WHERE id = ?", (kit_id,)).fetchone()[0] + 1
    finally:
        conn.close()


def push_event(layout, kit_id: str, kind: str, data: dict) -> Path:
    """One batch with one event in the kit's inbox, as the kit's rsync push leaves it."""
    seq = next_seq(layout, kit_id)
    event = {"seq": seq, "kind": kind, "at": "2026-12-01T08:00:00Z", "data": data}
    raw = protocol.encode_batch(seq, seq, [event], "2026-12-01T08:00:00Z")
    path = layout.inbox(kit_id) / protocol.batch_name(seq, seq)
    tmp = path.with_name(f".{path.name}.Xy12Ab")
    tmp.write_bytes(raw)
    os.rename(tmp, path)
    return path


def push_csr(layout, kit_id: str, der: bytes) -> Path:
    return push_event(layout, kit_id, protocol.TLS_CSR, {"csr": b64(der)})


def tls_json(layout, kit_id: str) -> dict | None:
    path = layout.roster(kit_id) / "tls.json"
    return json.loads(path.read_text()) if path.exists() else None


def leaf_of(record: dict) -> x509.Certificate:
    return x509.load_pem_x509_certificates(record["chain_pem"].encode())[0]


def san_of(cert: x509.Certificate) -> list[str]:
    return [str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value]


def spki(key_or_cert) -> bytes:
    public = key_or_cert.public_key()
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def verify_server_chain(chain_pem: str, root_pem: bytes, name: str) -> list[str]:
    """Problems found by the two verifiers (empty: both accept ``name`` on this chain)."""
    certs = x509.load_pem_x509_certificates(chain_pem.encode())
    try:
        subject, check = x509.IPAddress(ipaddress.ip_address(name)), "-verify_ip"
    except ValueError:
        subject, check = x509.DNSName(name), "-verify_hostname"
    problems = []
    try:
        verifier = (verification.PolicyBuilder().store(verification.Store(x509.load_pem_x509_certificates(root_pem)))
                    .build_server_verifier(subject))
        verifier.verify(certs[0], certs[1:])
    except verification.VerificationError as exc:
        problems.append(f"cryptography: {exc}")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "root.pem").write_bytes(root_pem)
        (Path(tmp) / "leaf.pem").write_bytes(certs[0].public_bytes(serialization.Encoding.PEM))
        (Path(tmp) / "chain.pem").write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs[1:]))
        cmd = [need("openssl", "openssl"), "verify", "-x509_strict", "-CAfile", f"{tmp}/root.pem",
               "-purpose", "sslserver", check, name]
        if len(certs) > 1:
            cmd += ["-untrusted", f"{tmp}/chain.pem"]
        out = subprocess.run(cmd + [f"{tmp}/leaf.pem"], capture_output=True, text=True)
        if out.returncode != 0:
            problems.append("openssl: " + " ".join((out.stdout + out.stderr).split())[:300])
    return problems


def ssh_pubkey() -> str:
    """A fresh kit sync key, as ``kit-server add-kit`` takes it."""
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def certificates(changed: list[str]) -> list[str]:
    """Of the files a publish changed, the certificate answers (``tls-name.json`` aside)."""
    return [f for f in changed if f.endswith("/tls.json")]
