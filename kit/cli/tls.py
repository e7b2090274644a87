"""``kit tls status``: which certificate the review page serves, for which names, until when."""

from __future__ import annotations

import argparse

from appliance.config import KitConfig
from appliance.tls import TlsStore
from kit.cli.data_option import add_data_option, data_dir_from

ISSUER_WORDS = {
    "acme": "publicly trusted (ACME, through the school server)",
    "school-ca": "the school's own CA (through the school server)",
    "self-signed": "self-signed (check the fingerprint on the teacher card)",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    tls = subparsers.add_parser("tls", help="the review page's HTTPS certificate")
    sub = tls.add_subparsers(dest="tls_command", metavar="ACTION", required=True)
    status = sub.add_parser("status", help="the certificate in use: issuer, names, expiry, SHA-256 fingerprint")
    add_data_option(status)
    status.set_defaults(func=_status)


def _status(args: argparse.Namespace) -> int:
    config = KitConfig.load(data_dir_from(args))
    store = TlsStore(config.paths.tls, config.kit_id)
    store.ensure()  # a fresh data directory gets its key and self-signed certificate now
    info = store.status()
    print(f"in use:      {ISSUER_WORDS[info['in_use']]}")
    print(f"names:       {', '.join(info['names'])}")
    print(f"valid until: {info['not_after'][:10]} ({info['days_left']} days left)")
    print(f"SHA-256:     {info['fingerprint']}")
    if info["in_use"] != "self-signed":
        # https://10.42.0.1/ (no name, so no SNI) still gets the self-signed one.
        print(f"by address:  {info['self_signed_fingerprint']} (self-signed, on the teacher card)")
    for cert in info["certificates"]:
        if cert["issuer"] != info["in_use"]:
            state = "valid" if cert["valid"] else "expired"
            print(f"also:        {cert['issuer']}, {state} until {cert['not_after'][:10]}")
    return 0
