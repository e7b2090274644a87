"""Publicly trusted kit certificates from an ACME CA (RFC 8555), proven with DNS-01.

``kit-server acme setup`` stores where the CA is, the kits domain, the DNS
server that takes RFC 2136 updates for it and the TSIG key name; the TSIG
secret and the ACME account key go in ``ROOT/tls/`` with mode 0600. For each
kit the server orders ``<kit-id>.<domain>``, puts the DNS-01 answer in TXT
``_acme-challenge.<kit-id>.<domain>`` (:mod:`.dns_update`), waits until its
own DNS server serves it, lets the CA validate, finalises with the kit's CSR
and removes the TXT record again — also when something failed.

An ACME CA signs a CSR only for exactly the names of the order (RFC 8555
§7.4), and the server cannot re-sign a kit's CSR, so this path only answers a
CSR that asks for exactly the kit's name; :mod:`.issue` decides what happens
to the others.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import josepy as jose
import requests
from acme import challenges, client, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.errors import KitError

from ..layout import Layout
from . import store
from .answer import Issued
from .csr import KitCsr
from .dns_update import ALGORITHMS, DnsUpdateError, DnsUpdater, parse_server
from .names import check_domain

log = logging.getLogger("lessonkit.server.tls")

CONFIG = "acme.json"
ACCOUNT_KEY = "acme-account-key.pem"
TSIG_SECRET = "tsig.secret"
CA_BUNDLE = "acme-ca-bundle.pem"
USER_AGENT = "lessonkit-server"
ORDER_TIMEOUT_S = 120


class AcmeError(KitError):
    pass


@contextlib.contextmanager
def _acme_errors(what: str) -> Iterator[None]:
    """One line for whatever the CA, the network or the library said."""
    try:
        yield
    except errors.ValidationError as exc:
        details = [f"{a.body.identifier.value}: {c.error.detail or c.error.typ}"
                   for a in exc.failed_authzrs for c in a.body.challenges if c.error is not None]
        raise AcmeError(f"the ACME CA could not validate {what} ({'; '.join(details) or 'no detail'})") from None
    except errors.IssuanceError as exc:
        raise AcmeError(f"the ACME CA would not issue {what}: {exc.error.detail or exc.error.typ}") from None
    except errors.TimeoutError:
        raise AcmeError(f"the ACME CA did not finish {what} within {ORDER_TIMEOUT_S} s") from None
    except messages.Error as exc:
        raise AcmeError(f"the ACME CA refused {what}: {exc.detail or exc.typ}") from None
    except requests.exceptions.SSLError:
        raise AcmeError(f"the ACME server's HTTPS certificate is not trusted ({what}); "
                        "for a private ACME CA pass --ca-bundle") from None
    except requests.exceptions.RequestException as exc:
        raise AcmeError(f"cannot reach the ACME server ({what}): {type(exc).__name__}") from None
    except (errors.Error, jose.errors.Error) as exc:
        raise AcmeError(f"unexpected answer from the ACME CA ({what}): {str(exc).splitlines()[0][:200]}") from None


@dataclass(frozen=True)
class AcmeConfig:
    directory: str
    domain: str
    zone: str
    dns_server: str
    dns_port: int
    tsig_key: str
    tsig_algorithm: str = "hmac-sha256"
    email: str | None = None
    propagation_s: float = 0.0
    account_uri: str | None = None

    def to_json(self) -> dict:
        return {"version": 1, **self.__dict__}

    @classmethod
    def from_json(cls, value: dict) -> "AcmeConfig":
        fields = {k: v for k, v in value.items() if k in cls.__dataclass_fields__}
        return cls(**fields)


class AcmeIssuer:
    kind = "acme"

    def __init__(self, layout: Layout, config: AcmeConfig, account_key: ec.EllipticCurvePrivateKey,
                 tsig_secret: str) -> None:
        self.layout = layout
        self.config = config
        self._jwk = jose.JWKEC(key=account_key)
        self._tsig_secret = tsig_secret

    def __repr__(self) -> str:  # never the secrets
        return f"AcmeIssuer({self.config.directory!r}, {self.config.domain!r})"

    @property
    def domain(self) -> str:
        return self.config.domain

    @property
    def _verify(self) -> str | bool:
        bundle = store.tls_dir(self.layout) / CA_BUNDLE
        return str(bundle) if bundle.exists() else True

    def updater(self) -> DnsUpdater:
        c = self.config
        return DnsUpdater(c.dns_server, c.dns_port, c.zone, c.tsig_key, self._tsig_secret, c.tsig_algorithm)

    def _client(self) -> client.ClientV2:
        net = client.ClientNetwork(self._jwk, alg=jose.ES256, verify_ssl=self._verify, user_agent=USER_AGENT,
                                   timeout=30)
        with _acme_errors("the directory"):
            directory = client.ClientV2.get_directory(self.config.directory, net)
        acme = client.ClientV2(directory, net)
        if self.config.account_uri:
            net.account = messages.RegistrationResource(body=messages.Registration(), uri=self.config.account_uri)
        return acme

    def register(self, acme: client.ClientV2) -> None:
        meta = acme.directory.meta
        if meta.external_account_required:
            raise AcmeError("this ACME CA requires external account binding, which kit-server does not do")
        registration = messages.NewRegistration.from_data(email=self.config.email, terms_of_service_agreed=True)
        with _acme_errors("the account"):
            try:
                regr = acme.new_account(registration)
                uri = regr.uri
            except errors.ConflictError as exc:  # the key already has an account there
                uri = str(exc)
        acme.net.account = messages.RegistrationResource(body=messages.Registration(), uri=uri)
        self.config = AcmeConfig(**{**self.config.__dict__, "account_uri": uri})
        store.write_json(store.tls_dir(self.layout) / CONFIG, self.config.to_json())
        log.info("ACME account %s", uri)

    def issue(self, kit_csr: KitCsr, name: str) -> Issued:
        """Order ``name`` for the kit's CSR, prove it with DNS-01, return the full chain."""
        acme = self._client()
        if acme.net.account is None:
            self.register(acme)
        csr_pem = kit_csr.request.public_bytes(serialization.Encoding.PEM)
        with _acme_errors(f"the order for {name}"):
            try:
                order = acme.new_order(csr_pem)
            except messages.Error as exc:
                if exc.code != "accountDoesNotExist":
                    raise
                # The CA forgot the account (a test CA restarted, an account
                # deactivated): a new one, once.
                self.register(acme)
                order = acme.new_order(csr_pem)
        identifiers = sorted(i.value.lower() for i in order.body.identifiers)
        if identifiers != [name]:
            raise AcmeError(f"the ACME order is for {identifiers}, not {name!r}")
        updater = self.updater()
        published: list[tuple[str, str]] = []
        try:
            pending = []
            for authz in order.authorizations:
                if authz.body.status == messages.STATUS_VALID:
                    continue  # the CA remembers an earlier validation
                challb = next((c for c in authz.body.challenges if isinstance(c.chall, challenges.DNS01)), None)
                if challb is None:
                    raise AcmeError(f"the ACME CA offers no dns-01 challenge for {authz.body.identifier.value}")
                record = challb.chall.validation_domain_name(authz.body.identifier.value)
                value = challb.chall.validation(self._jwk)
                updater.add_txt(record, value)
                published.append((record, value))
                pending.append(challb)
            for record, value in published:
                updater.wait_served(record, value)
            if published and self.config.propagation_s:
                time.sleep(self.config.propagation_s)  # secondaries behind a hidden primary
            deadline = dt.datetime.now() + dt.timedelta(seconds=ORDER_TIMEOUT_S)
            with _acme_errors(f"the order for {name}"):
                for challb in pending:
                    acme.answer_challenge(challb, challb.chall.response(self._jwk))
                order = acme.poll_and_finalize(order, deadline)
        finally:
            for record, value in published:
                try:
                    updater.delete_txt(record, value)
                except DnsUpdateError as exc:
                    log.warning("could not remove TXT %s: %s", record, exc)
        if not order.fullchain_pem:
            raise AcmeError(f"the ACME CA returned no certificate for {name}")
        log.info("ACME certificate for %s", name)
        return Issued("acme", name, order.fullchain_pem)


def load(layout: Layout) -> AcmeIssuer | None:
    """The ACME issuer, or None when ``acme setup`` was never run."""
    directory = layout.root / "tls"
    value = store.read_json(directory / CONFIG)
    if value is None:
        return None
    try:
        config = AcmeConfig.from_json(value)
        key = serialization.load_pem_private_key((directory / ACCOUNT_KEY).read_bytes(), password=None)
        secret = (directory / TSIG_SECRET).read_text().strip()
    except (OSError, ValueError, TypeError) as exc:
        raise KitError(f"the ACME setup in {directory} is incomplete ({type(exc).__name__}); "
                       "run kit-server acme setup again") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KitError(f"the ACME account key in {directory} is not an EC key; run kit-server acme setup again")
    return AcmeIssuer(layout, config, key, secret)


def setup(layout: Layout, *, directory: str, domain: str, dns_server: str, tsig_key: str, tsig_secret: str,
          tsig_algorithm: str = "hmac-sha256", zone: str | None = None, email: str | None = None,
          ca_bundle: Path | None = None, propagation_s: float = 0.0, agree_tos: bool = False) -> AcmeIssuer:
    """Check everything with the real DNS server and CA, then store it."""
    layout.require()
    if not directory.startswith("https://"):
        raise KitError("the ACME directory must be an https:// URL")
    domain = check_domain(domain)
    zone = check_domain(zone) if zone else domain
    if domain != zone and not domain.endswith("." + zone):
        raise KitError(f"the kits domain {domain} is not inside the zone {zone}")
    if tsig_algorithm not in ALGORITHMS:
        raise KitError(f"TSIG algorithm {tsig_algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    host, port = parse_server(dns_server)
    if ca_bundle is not None:
        try:
            certs = x509.load_pem_x509_certificates(Path(ca_bundle).read_bytes())
        except (OSError, ValueError):
            raise KitError(f"{ca_bundle} is not a PEM file of CA certificates") from None
    tls = store.tls_dir(layout)
    try:
        old = load(layout)
    except KitError:
        old = None  # a half-finished earlier setup: start afresh
    config = AcmeConfig(directory, domain, zone, host, port, tsig_key, tsig_algorithm, email, float(propagation_s),
                        old.config.account_uri if old and old.config.directory == directory else None)
    key = old._jwk.key if old else ec.generate_private_key(ec.SECP256R1())
    issuer = AcmeIssuer(layout, config, key, tsig_secret)

    # The DNS key first: a wrong secret is the likeliest mistake, and it
    # costs the CA nothing.
    updater = issuer.updater()
    probe, value = f"_acme-challenge.{domain}", secrets.token_urlsafe(16)
    updater.add_txt(probe, value)
    try:
        updater.wait_served(probe, value)
    finally:
        updater.delete_txt(probe, value)

    if ca_bundle is not None:
        store.write_file(tls / CA_BUNDLE, b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs), 0o644)
    elif (tls / CA_BUNDLE).exists():
        (tls / CA_BUNDLE).unlink()
    acme = issuer._client()
    terms = acme.directory.meta.terms_of_service
    if terms and not agree_tos:
        raise KitError(f"read the ACME CA's terms of service ({terms}) and add --agree-tos")
    store.write_file(tls / ACCOUNT_KEY, key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    store.write_file(tls / TSIG_SECRET, (tsig_secret + "\n").encode())
    if acme.net.account is None:
        issuer.register(acme)  # writes the config with the account
    else:
        store.write_json(tls / CONFIG, config.to_json())
    return issuer
