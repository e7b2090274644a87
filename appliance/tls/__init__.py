"""The kit's TLS identity: its own key, a self-signed certificate until a better one arrives.

The key is made on the kit (first boot, or ``kit run`` in a fresh data
directory) and never leaves it. What leaves is a certificate signing request
(public: a public key and a signature) in the sync batch; the school server
answers with a certificate from its ACME account or its own CA, which the
kit installs only if it is for the kit's own key. :func:`choose` serves the
best valid one, so a kit that stays offline past an expiry falls back
without breaking.
"""

from .certs import CertInfo, describe, fingerprint
from .store import ISSUERS, RENEW_DAYS, TlsStore, TlsRefused

__all__ = ["CertInfo", "ISSUERS", "RENEW_DAYS", "TlsRefused", "TlsStore", "describe", "fingerprint"]
