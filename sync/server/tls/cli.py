"""The ``kit-server`` sub-commands for kit certificates: ``ca``, ``acme``, ``tls``.

    kit-server ca init --domain kits.school.example     the school's own CA
    kit-server ca export --out DIR                       its root for iPads and Chromebooks
    kit-server acme setup --directory URL --domain D …   publicly trusted certificates
    kit-server tls status                                every kit's certificate
"""

from __future__ import annotations

import sys
from pathlib import Path

from appliance.errors import KitError

from . import acme_dns01, ca, status
from .dns_update import ALGORITHMS, parse_secret


def _colons(hex_digest: str) -> str:
    return ":".join(hex_digest[i:i + 2] for i in range(0, len(hex_digest), 2)).upper()


def cmd_ca_init(args) -> int:
    layout = args.layout_of(args).require()
    school = ca.init(layout, args.domain, args.organisation, args.days)
    print(f"school CA for {school.domain} created in {layout.root / 'tls' / 'school-ca'}")
    print(f"SHA-256 fingerprint {_colons(school.fingerprint)}")
    print("back that directory up: a new CA means installing a new root on every device")
    print("next: kit-server ca export --out DIR, and give the files to the iPads' and Chromebooks' MDM")
    return 0


def cmd_ca_export(args) -> int:
    layout = args.layout_of(args).require()
    school = ca.load(layout)
    if school is None:
        raise KitError("there is no school CA yet: kit-server ca init --domain kits.school.example")
    for path in school.export(Path(args.out)):
        print(path)
    print(f"SHA-256 fingerprint {_colons(school.fingerprint)} (compare it on the device before trusting)")
    return 0


def _read_secret(source: str) -> str:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as exc:
        raise KitError(f"cannot read the TSIG secret from {source}: {exc.strerror}") from None
    return parse_secret(text)


def cmd_acme_setup(args) -> int:
    layout = args.layout_of(args).require()
    issuer = acme_dns01.setup(
        layout, directory=args.directory, domain=args.domain, dns_server=args.dns_server, tsig_key=args.tsig_key,
        tsig_secret=_read_secret(args.tsig_secret_file), tsig_algorithm=args.tsig_algorithm, zone=args.zone,
        email=args.email, ca_bundle=Path(args.ca_bundle) if args.ca_bundle else None,
        propagation_s=args.propagation_seconds, agree_tos=args.agree_tos)
    c = issuer.config
    print(f"ACME set up: kits get <kit-id>.{c.domain} from {c.directory}")
    print(f"DNS updates to {c.dns_server}:{c.dns_port} work with TSIG key {c.tsig_key}; account {c.account_uri}")
    if ca.load(layout) is None:
        print(f"note: a kit's CSR must ask for exactly <kit-id>.{c.domain}; with a school CA "
              "(kit-server ca init) kits that do not know their name yet get one from it meanwhile")
    return 0


def cmd_tls_status(args) -> int:
    print(status.report(args.layout_of(args).require()))
    return 0


def add_commands(sub, layout_of) -> None:
    """Register ``ca``, ``acme`` and ``tls`` on kit-server's sub-parsers."""
    p = sub.add_parser("ca", help="the school's own CA, limited to the kits domain")
    ca_sub = p.add_subparsers(dest="ca_command", metavar="CA_COMMAND")
    p.set_defaults(func=lambda args, p=p: p.print_help(sys.stderr) or 2)
    q = ca_sub.add_parser("init", help="create the CA (name-constrained to --domain)")
    q.add_argument("--domain", required=True, help="the kits domain, e.g. kits.school.example")
    q.add_argument("--organisation", help="the school's name, shown when a device installs the root")
    q.add_argument("--days", type=int, default=ca.ROOT_DAYS, help=f"lifetime of the root (default {ca.ROOT_DAYS})")
    q.set_defaults(func=cmd_ca_init, layout_of=layout_of)
    q = ca_sub.add_parser("export", help="write the root as PEM, DER and an Apple .mobileconfig")
    q.add_argument("--out", required=True, help="directory to write school-ca.{pem,der,mobileconfig} to")
    q.set_defaults(func=cmd_ca_export, layout_of=layout_of)

    p = sub.add_parser("acme", help="publicly trusted kit certificates by ACME DNS-01")
    acme_sub = p.add_subparsers(dest="acme_command", metavar="ACME_COMMAND")
    p.set_defaults(func=lambda args, p=p: p.print_help(sys.stderr) or 2)
    q = acme_sub.add_parser("setup", help="the ACME CA, the kits domain and the DNS server for DNS-01")
    q.add_argument("--directory", required=True, help="the CA's ACME directory URL (https://…/directory)")
    q.add_argument("--domain", required=True, help="the kits domain: kit certificates are for <kit-id>.DOMAIN")
    q.add_argument("--dns-server", required=True, help="HOST[:PORT] that accepts RFC 2136 updates for the zone")
    q.add_argument("--tsig-key", required=True, help="the TSIG key's name")
    q.add_argument("--tsig-secret-file", required=True,
                   help="file with the TSIG secret (base64, or a BIND/Knot key file); '-' reads standard input")
    q.add_argument("--tsig-algorithm", default="hmac-sha256", choices=sorted(ALGORITHMS))
    q.add_argument("--zone", help="the DNS zone to update (default: the kits domain)")
    q.add_argument("--email", help="contact address for the CA's expiry notices")
    q.add_argument("--ca-bundle", help="PEM file to trust for a private ACME CA's HTTPS")
    q.add_argument("--propagation-seconds", type=float, default=0.0,
                   help="wait this long after the DNS server serves a record (for secondaries)")
    q.add_argument("--agree-tos", action="store_true", help="agree to the CA's terms of service")
    q.set_defaults(func=cmd_acme_setup, layout_of=layout_of)

    p = sub.add_parser("tls", help="kit certificates")
    tls_sub = p.add_subparsers(dest="tls_command", metavar="TLS_COMMAND")
    p.set_defaults(func=lambda args, p=p: p.print_help(sys.stderr) or 2)
    q = tls_sub.add_parser("status", help="issuer, name, expiry and days left for every kit")
    q.set_defaults(func=cmd_tls_status, layout_of=layout_of)
